"""Claims: constructed supporting, contradicting and inconclusive results get their verdicts, at a level
adjusted across the claims, with what qualifies them."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from testbeds import config as cfg
from testbeds.analysis import claims

from helpers import cell_runs, make_claim

CLAIM = make_claim("c", "A", {"optimizer": "B"}, source="000", statement="A is lower than B", size=-0.5)


def one(claim: dict, frame: pd.DataFrame, tuning: dict | None = None, provisional: dict | None = None) -> dict:
    """A claim measured alone (Holm over one claim is the raw p)."""
    return claims.claims_table([claim], frame, tuning or {}, provisional).iloc[0].to_dict()


def runs(a: list, b: list, trivial: float | None = None) -> pd.DataFrame:
    frame = cell_runs({"A": a, "B": b})
    frame["metric.other"] = frame["primary_value"].fillna(0.0) * 2
    if trivial is not None:
        frame["trivial.loss"] = trivial
    return frame


def test_a_supporting_result_is_supported_with_the_paired_interval():
    a, b = [1.0, 1.2, 0.9, 1.1, 1.0], [2.0, 2.1, 2.2, 1.9, 2.4]
    row = one(CLAIM, runs(a, b), {"w": {"budget": 4}})
    d = np.subtract(a, b)
    low, high = sps.t.interval(0.95, 4, loc=d.mean(), scale=sps.sem(d))
    assert row["verdict"] == "supported" and row["n_pairs"] == 5 and row["tuning_budget"] == 4
    assert (row["difference"], row["ci_low"], row["ci_high"]) == pytest.approx((d.mean(), low, high))
    assert row["p"] == pytest.approx(sps.ttest_rel(a, b).pvalue) and row["test"] == "paired t"
    assert row["relative_change"] == pytest.approx(d.mean() / np.mean(b)) and row["claimed_size"] == -0.5


def test_a_contradicting_result_is_contradicted_and_a_noisy_one_inconclusive():
    assert one(CLAIM, runs([2.0, 2.1, 2.3], [1.0, 1.1, 1.2]))["verdict"] == "contradicted"
    noisy = one(CLAIM, runs([1.0, 3.0, 1.1], [2.0, 2.0, 2.0]))
    assert noisy["verdict"] == "inconclusive at this scale" and noisy["ci_low"] < 0 < noisy["ci_high"]
    assert one(CLAIM, runs([1.0], [2.0]))["verdict"] == "inconclusive (n = 1)"
    higher = {**CLAIM, "direction": "max"}
    assert one(higher, runs([2.0, 2.1, 2.3], [1.0, 1.1, 1.2]))["verdict"] == "supported"


def test_verdicts_are_taken_at_the_holm_adjusted_level_across_the_claims():
    """Alone, p = 0.02 supports the claim; beside two claims with p near 0.5, Holm multiplies it by 3 and
    the verdict becomes inconclusive (a mutation that decides on the raw p keeps it supported)."""
    frame = runs([1.0, 1.3, 0.8, 1.25], [1.5, 1.5, 1.5, 1.5])
    alone = one(CLAIM, frame)
    assert 0.05 / 3 < alone["p"] < 0.05 and alone["verdict"] == "supported"
    noisy = runs([1.0, 3.0, 1.1, 2.0], [2.0, 2.0, 2.0, 2.0])
    both = pd.concat([frame, noisy.assign(workload="x"), noisy.assign(workload="y")], ignore_index=True)
    family = [CLAIM, {**CLAIM, "id": "x", "workload": "x"}, {**CLAIM, "id": "y", "workload": "y"}]
    table = claims.claims_table(family, both, {}).set_index("id")
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(table["p"].to_numpy(), method="holm")[1]
    np.testing.assert_allclose(table["p_holm"], expected)
    assert table.loc["c", "p_holm"] >= 0.05 and table.loc["c", "verdict"] == "inconclusive at this scale"


def test_diverged_seeds_are_counted_and_tested_with_the_diverged_run_worst():
    row = one(CLAIM, runs([1.0, None, 1.1, 0.9, 1.0, 1.2], [2.0, 2.0, 2.1, 2.0, 2.2, 2.1]))
    assert row["n_pairs"] == 5 and row["n_pairs_removed_diverged"] == 1 and row["n_runs"] == 6
    assert row["test"] == "signed-rank, a diverged run ranks worst"
    # the diverged seed is a loss of the largest magnitude (2.2 + 10 x the finite span 1.3, minus 2.0)
    expected = sps.wilcoxon([-1.0, 13.2, -1.0, -1.1, -1.2, -0.9]).pvalue
    assert row["p"] == pytest.approx(expected) and row["verdict"] == "inconclusive at this scale"


def test_a_diverged_run_fails_a_claim_against_a_fixed_value():
    against_value = {**CLAIM, "against": {"value": 1.5}, "metric": "other"}  # other = 2 x primary
    row = one(against_value, runs([1.0, 1.1, 0.9], [5.0, 5.0, 5.0]))
    assert row["against"] == "1.5" and row["mean_arm"] == pytest.approx(2.0) and row["verdict"] == "contradicted"
    fixed = {**CLAIM, "against": {"value": 1.5}}
    assert one(fixed, runs([1.0, 1.1, 0.9, 1.0], [0, 0, 0, 0]))["verdict"] == "supported"
    failed = one(fixed, runs([1.0, None, 0.9, 1.0], [0, 0, 0, 0]))
    assert failed["verdict"] == "contradicted: 1 of 4 runs diverged"
    for missing in ({**CLAIM, "optimizer": "C"}, {**CLAIM, "against": {"optimizer": "D"}}):
        assert one(missing, runs([1.0, 1.1], [2.0, 2.1]))["verdict"] == "not run in this grid"


def test_a_smallest_effect_that_counts_must_be_cleared():
    """A difference of about -1 supports "lower"; with min_effect 2 it does not (mutation: ignoring
    min_effect keeps it supported)."""
    frame = runs([1.0, 1.2, 0.9, 1.1, 1.0], [2.0, 2.1, 2.2, 1.9, 2.4])
    assert one({**CLAIM, "min_effect": 0.5}, frame)["verdict"] == "supported"
    strict = one({**CLAIM, "min_effect": 2.0}, frame)
    assert strict["verdict"] != "supported" and "does not clear" in strict["min_effect_note"]


def test_arms_both_worse_than_the_trivial_model_are_said_beside_the_verdict():
    bad = one(CLAIM, runs([7.0, 7.2, 6.9], [9.0, 9.1, 9.2], trivial=4.1))
    assert bad["verdict"] == "supported" and bad["trivial"] == "both arms score worse than the trivial model (loss 4.1)"
    assert one(CLAIM, runs([1.0, 1.2, 0.9], [9.0, 9.1, 9.2], trivial=4.1))["trivial"] == ""


def test_an_arm_tuned_at_the_edge_makes_the_claim_provisional():
    row = one(CLAIM, runs([1.0, 1.2, 0.9], [2.0, 2.1, 2.2]), provisional={("w", "v", "B"): "train.lr at the low end"})
    assert row["provisional"] == "comparator tuned at the edge of its range (train.lr at the low end): provisional"
    assert one(CLAIM, runs([1.0, 1.2, 0.9], [2.0, 2.1, 2.2]))["provisional"] == ""


def test_the_shipped_claims_name_real_workloads_variants_optimizers_and_metrics():
    import jsonschema

    shipped = cfg.load_config([cfg.REPO / "config" / "claims.yaml"])
    jsonschema.validate(shipped, cfg.load_config([cfg.REPO / "workflow" / "schemas" / "claims.schema.yaml"]))
    config = cfg.load_config([cfg.DEFAULT_CONFIG, cfg.REPO / "config" / "paper.yaml"])  # the full-scale grid
    for claim in shipped["claims"]:
        entry = config["workloads"][claim["workload"]]
        for variant in {claim["variant"], claim["against"].get("variant", claim["variant"])}:
            assert variant in entry["variants"], claim["id"]
        for optimizer in {claim["optimizer"], claim["against"].get("optimizer", claim["optimizer"])}:
            assert optimizer in entry["optimizers"], claim["id"]


def test_a_claim_is_not_supported_because_its_own_arm_diverged():
    """12 seeds: A diverges on 9 and is 0.05 better on the other 3. The divergence-aware test is significant,
    and it leans against A (A's failures rank worst), while the complete pairs favour A: no verdict (mutation:
    the direction taken from the complete pairs' mean, as before, which called this "supported")."""
    b = [1.0 + 0.01 * k for k in range(12)]
    a = [None] * 9 + [v - 0.05 for v in b[9:]]
    row = one(CLAIM, runs(a, b))
    assert row["p"] < 0.05 and row["test"] == claims.DIVERGENCE_AWARE
    assert row["side"] == 1.0 and row["pairs_side"] == -1.0
    assert row["verdict"] == "inconclusive: divergence and scores disagree"


def test_contradicted_needs_significance_on_the_other_side_of_zero_even_with_a_min_effect():
    """A is 0.0045 worse than B with noise (p against 0 about 0.3): with min_effect 0.01 the test against the
    threshold is significant, but the difference is not significantly past zero, so "inconclusive", not
    "contradicted" (mutation: contradicted by the threshold test and the sign alone, as before)."""
    rng = np.random.default_rng(3)
    b = list(1.0 + rng.normal(0, 0.01, 8))
    a = [v + 0.0045 + e for v, e in zip(b, rng.normal(0, 0.012, 8))]
    row = one({**CLAIM, "min_effect": 0.01}, runs(a, b))
    assert row["p"] < 0.05 and row["p_zero"] > 0.05 and row["difference"] > 0
    assert row["verdict"] == "inconclusive at this scale"
    clearly_worse = [v + 0.05 for v in b]
    assert one({**CLAIM, "min_effect": 0.01}, runs(clearly_worse, b))["verdict"] == "contradicted"


def test_an_attribution_line_says_how_much_of_the_difference_remains_with_the_same_ramp():
    """A beats B by 1.0; with the ramp on both arms (A − B_ramp) by 0.25: the line says 25% of the claim's
    (mutation: the attribution left out of the claim's row, or computed against the claim's own arms)."""
    ramped = runs([], [1.25, 1.35, 1.15]).assign(optimizer="B_ramp")
    frame = pd.concat([runs([1.0, 1.1, 0.9], [2.0, 2.1, 1.9]), ramped], ignore_index=True)
    claim = {**CLAIM, "attribution": [{"optimizer": "A", "against": "B_ramp", "label": "both ramped"}]}
    row = one(claim, frame)
    assert row["attribution"] == "both ramped (A − B_ramp): -0.25, 25% of the claim's, n = 3"
    assert one(CLAIM, frame)["attribution"] == ""


def test_in_a_sequential_design_a_claim_is_measured_on_the_seeds_it_stopped_with_and_takes_the_looks_verdict():
    # A's cell ran 6 seeds (a claim sharing it stayed open), but this claim stopped supported at look 1 with 3:
    # its difference is over those 3 (mutation: measuring every run gives n_pairs 6 and another mean)
    a, b = [1.0, 1.1, 0.9, 5.0, 5.0, 5.0], [2.0, 2.1, 1.9, 2.0, 2.0, 2.0]
    looks = {
        "looks": [3, 6],
        "alpha": 0.05,
        "claims": {
            "c": {"status": "supported", "look": 1, "seeds": [0, 1, 2], "z": -3.9, "bound": 3.0, "arm_diverged": 0}
        },
    }
    row = claims.claims_table([CLAIM], runs(a, b), {}, sequential=looks).iloc[0].to_dict()
    assert row["n_pairs"] == 3 and row["difference"] == pytest.approx(-1.0)
    assert row["verdict"] == "supported" and (row["look"], row["looks"], row["seeds_used"]) == (1, 2, 3)
    looks["claims"]["c"].update(status="inconclusive", look=2, seeds=list(range(6)), arm_diverged=1)
    row = claims.claims_table([CLAIM], runs(a, b), {}, sequential=looks).iloc[0].to_dict()
    assert row["verdict"] == "inconclusive at the last look: the arm diverged on 1 seed" and row["n_pairs"] == 6
    looks["claims"]["c"].update(arm_diverged=0, comparator_diverged=2)
    row = claims.claims_table([CLAIM], runs(a, b), {}, sequential=looks).iloc[0].to_dict()
    assert row["verdict"] == "inconclusive at the last look: the comparator diverged on 2 seeds"
