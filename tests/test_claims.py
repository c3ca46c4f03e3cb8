"""Claims: a constructed supporting, contradicting and inconclusive result each get their verdict."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from testbeds import config as cfg
from testbeds.analysis import claims

CLAIM = {
    "id": "c",
    "seed": "000",
    "statement": "A is lower than B",
    "workload": "w",
    "variant": "v",
    "optimizer": "A",
    "against": {"optimizer": "B"},
    "metric": "primary",
    "direction": "lower",
    "size": -0.5,
}


def runs(a: list, b: list) -> pd.DataFrame:
    rows = []
    for optimizer, values in (("A", a), ("B", b)):
        for seed, value in enumerate(values):
            ok = value is not None
            rows.append(
                dict(
                    workload="w",
                    variant="v",
                    optimizer=optimizer,
                    seed=seed,
                    status="ok" if ok else "diverged",
                    primary_metric="loss",
                    primary_value=value if ok else math.nan,
                    steps=100,
                    **{"metric.other": (value or 0) * 2},
                )
            )
    return pd.DataFrame(rows)


def test_a_supporting_result_is_supported_with_the_paired_interval():
    a, b = [1.0, 1.2, 0.9, 1.1, 1.0], [2.0, 2.1, 2.2, 1.9, 2.4]
    row = claims.measure(CLAIM, runs(a, b), {"w": {"budget": 4}})
    d = np.subtract(a, b)
    low, high = sps.t.interval(0.95, 4, loc=d.mean(), scale=sps.sem(d))
    assert row["verdict"] == "supported" and row["n_pairs"] == 5 and row["tuning_budget"] == 4
    assert (row["difference"], row["ci_low"], row["ci_high"]) == pytest.approx((d.mean(), low, high))
    assert row["relative_change"] == pytest.approx(d.mean() / np.mean(b)) and row["claimed_size"] == -0.5


def test_a_contradicting_result_is_contradicted_and_a_noisy_one_inconclusive():
    assert claims.measure(CLAIM, runs([2.0, 2.1, 2.3], [1.0, 1.1, 1.2]), {})["verdict"] == "contradicted"
    noisy = claims.measure(CLAIM, runs([1.0, 3.0, 1.1], [2.0, 2.0, 2.0]), {})
    assert noisy["verdict"] == "inconclusive at this scale" and noisy["ci_low"] < 0 < noisy["ci_high"]
    assert claims.measure(CLAIM, runs([1.0], [2.0]), {})["verdict"] == "inconclusive (n = 1)"
    higher = {**CLAIM, "direction": "higher"}
    assert claims.measure(higher, runs([2.0, 2.1, 2.3], [1.0, 1.1, 1.2]), {})["verdict"] == "supported"


def test_diverged_seeds_drop_their_pair_fixed_values_and_other_metrics_work():
    row = claims.measure(CLAIM, runs([1.0, None, 1.1, 0.9], [2.0, 2.0, 2.1, 2.0]), {})
    assert row["n_pairs"] == 3 and row["verdict"] == "supported"
    against_value = {**CLAIM, "against": {"value": 1.5}, "metric": "other"}  # other = 2 x primary
    row = claims.measure(against_value, runs([1.0, 1.1, 0.9], [5.0, 5.0, 5.0]), {})
    assert row["against"] == "1.5" and row["mean_arm"] == pytest.approx(2.0) and row["verdict"] == "contradicted"
    for missing in ({**CLAIM, "optimizer": "C"}, {**CLAIM, "against": {"optimizer": "D"}}):
        assert claims.measure(missing, runs([1.0, 1.1], [2.0, 2.1]), {})["verdict"] == "not run in this grid"


def test_the_shipped_claims_name_real_workloads_variants_optimizers_and_metrics():
    import jsonschema

    shipped = cfg.load_config([cfg.REPO / "config" / "claims.yaml"])
    jsonschema.validate(shipped, cfg.load_config([cfg.REPO / "workflow" / "schemas" / "claims.schema.yaml"]))
    config = cfg.load_config([cfg.DEFAULT_CONFIG])
    for claim in shipped["claims"]:
        entry = config["workloads"][claim["workload"]]
        for variant in {claim["variant"], claim["against"].get("variant", claim["variant"])}:
            assert variant in entry["variants"], claim["id"]
        for optimizer in {claim["optimizer"], claim["against"].get("optimizer", claim["optimizer"])}:
            assert optimizer in entry["optimizers"], claim["id"]
