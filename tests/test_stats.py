"""Statistics of the grid against hand-computed values on small frames."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from testbeds.analysis import headline, stats


def runs_frame(values: dict[str, list], workload="w", direction="min", status=None) -> pd.DataFrame:
    rows = []
    for optimizer, vals in values.items():
        for seed, value in enumerate(vals):
            ok = value is not None and np.isfinite(value)
            rows.append(
                {
                    "workload": workload,
                    "variant": "base",
                    "optimizer": optimizer,
                    "seed": seed,
                    "status": "ok" if ok else "diverged",
                    "primary_metric": "loss",
                    "curve_metric": "loss",
                    "direction": direction,
                    "primary_value": value if ok else math.nan,
                }
            )
    return pd.DataFrame(rows)


def test_summary_matches_hand_computation():
    runs = runs_frame({"adam": [1.0, 2.0, 3.0], "kbeta": [2.0, 2.0, None]})
    summary = stats.summary_table(runs).set_index("optimizer")
    adam = summary.loc["adam"]
    assert adam["n_ok"] == 3 and adam["n_diverged"] == 0
    assert adam["mean"] == 2.0 and adam["std"] == pytest.approx(1.0) and adam["median"] == 2.0
    half = sps.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)  # t-interval: mean ± t(0.975, n-1) s/√n
    assert (adam["ci_low"], adam["ci_high"]) == pytest.approx((2 - half, 2 + half))
    assert adam["ci_method"] == "t" and adam["best"] == 1.0 and adam["worst"] == 3.0
    kbeta = summary.loc["kbeta"]
    assert kbeta["n_runs"] == 3 and kbeta["n_ok"] == 2 and kbeta["n_diverged"] == 1
    assert kbeta["ci_method"] == "degenerate (all equal)"


def test_summary_with_one_seed_has_no_interval_and_says_so():
    summary = stats.summary_table(runs_frame({"adam": [1.5]}))
    row = summary.iloc[0]
    assert row["mean"] == 1.5 and math.isnan(row["ci_low"]) and row["ci_method"] == "none (n=1)"
    assert math.isnan(row["std"])


def test_t_interval_below_thirty_seeds_and_bootstrap_from_thirty():
    values = np.random.default_rng(0).normal(5.0, 1.0, size=40)
    low, high, method = stats.confidence_interval(values)
    assert method == "bootstrap BCa" and low < values.mean() < high
    t_low, t_high = sps.t.interval(0.95, 39, loc=values.mean(), scale=sps.sem(values))
    assert high - low == pytest.approx(t_high - t_low, rel=0.35)  # similar width to the t-interval
    assert stats.confidence_interval(values[:29])[2] == "t"


def test_a_max_direction_metric():
    runs = runs_frame({"a": [0.9, 0.8], "b": [0.5, 0.6]}, direction="max")
    summary = stats.summary_table(runs).set_index("optimizer")
    assert summary.loc["a", "best"] == 0.9 and summary.loc["a", "worst"] == 0.8
    comparison = stats.comparisons_table(runs, {"w": "b"}).iloc[0]
    assert comparison["win_rate"] == 1.0 and comparison["better_on_mean"]


def test_paired_comparison_matches_scipy():
    """Seeds pair the runs: the difference, its interval and the tests are those of the paired samples."""
    a, b = [1.0, 2.5, 3.0, 4.2, 2.0, 3.3, 1.7], [2.0, 3.0, 4.1, 7.0, 2.4, 3.2, 2.9]
    runs = runs_frame({"kbeta": a, "adam": b})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["optimizer"] == "kbeta" and row["baseline"] == "adam" and row["n_pairs"] == 7
    d = np.subtract(a, b)
    assert row["diff"] == pytest.approx(d.mean())
    paired = sps.ttest_rel(a, b)
    ci = paired.confidence_interval(0.95)
    assert row["paired_t_p"] == pytest.approx(paired.pvalue)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx((ci.low, ci.high))
    assert row["wilcoxon_p"] == pytest.approx(sps.wilcoxon(d).pvalue)
    assert row["sign_test_p"] == pytest.approx(sps.binomtest(1, 7).pvalue)  # kbeta wins 6 of 7
    assert row["relative_change"] == pytest.approx(d.mean() / np.mean(b))
    assert row["win_rate"] == pytest.approx(6 / 7) and row["better_on_mean"] and not row["underpowered"]
    # a paired test is not a Welch test: the pairing removes the seed-to-seed spread
    assert row["paired_t_p"] < sps.ttest_ind(a, b, equal_var=False).pvalue


def test_p_values_are_adjusted_across_every_comparison_of_the_table():
    rng = np.random.default_rng(1)
    runs = pd.concat(
        [
            runs_frame({o: list(rng.normal(m, 1.0, 6)) for o, m in (("base", 0), ("x", 0.5), ("y", 3.0))}, workload=w)
            for w in ("w1", "w2")
        ]
    )
    table = stats.comparisons_table(runs, {"w1": "base", "w2": "base"})
    assert len(table) == 4
    for test in ("paired_t_p", "wilcoxon_p", "sign_test_p"):
        expected = sps.false_discovery_control(table[test].to_numpy(), method="bh")
        np.testing.assert_allclose(table[test.replace("_p", "_p_adjusted")], expected)
        assert (table[test.replace("_p", "_p_adjusted")] >= table[test] - 1e-15).all()


def test_two_seeds_are_flagged_as_unable_to_reach_significance():
    runs = runs_frame({"kbeta": [1.0, 2.0], "adam": [3.0, 5.0]})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["underpowered"] and row["smallest_rank_p"] == 0.5 and row["sign_test_p"] == 0.5
    tables = {
        "summary.csv": stats.summary_table(runs),
        "comparisons.csv": stats.comparisons_table(runs, {"w": "adam"}),
        "runs.csv": runs.assign(device="cpu", data_source="d"),
        "ranks.csv": stats.ranking_table(stats.rank_blocks(runs)),
    }
    text = headline.render(tables, {"baselines": {"w": "adam"}})
    assert "With 2 seeds no sign or signed-rank test can reach p < 0.05" in text
    assert stats.smallest_p(6) < 0.05 < stats.smallest_p(5)


def test_diverged_runs_lose_matched_comparisons_and_count_in_the_success_rate():
    runs = runs_frame({"kbeta": [1.0, None, 1.1], "adam": [2.0, 2.0, 0.5]})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["n_pairs"] == 2 and row["n_pairs_removed_diverged"] == 1
    assert row["win_rate"] == pytest.approx(1 / 3)  # win, loss, loss
    kbeta = stats.summary_table(runs).set_index("optimizer").loc["kbeta"]
    interval = sps.binomtest(2, 3).proportion_ci(0.95, method="wilson")
    assert kbeta["success_rate"] == pytest.approx(2 / 3)
    assert (kbeta["success_ci_low"], kbeta["success_ci_high"]) == pytest.approx((interval.low, interval.high))


def test_every_number_of_a_comparison_row_comes_from_the_same_pairs():
    """Seed 1 of kbeta diverged: the means, the relative change and Hedges' g use seeds 0 and 2 of both arms,
    not adam's three runs (a mutation that averages every baseline run gives 1.5, not 1.25)."""
    runs = runs_frame({"kbeta": [1.0, None, 1.1], "adam": [2.0, 2.0, 0.5]})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["mean"] == pytest.approx(1.05) and row["mean_baseline"] == pytest.approx(1.25)
    assert row["diff"] == pytest.approx(row["mean"] - row["mean_baseline"])
    assert row["relative_change"] == pytest.approx(-0.2 / 1.25)
    assert row["effect_size_hedges_g"] == pytest.approx(stats.hedges_g(np.array([1.0, 1.1]), np.array([2.0, 0.5])))


def test_where_divergence_removed_pairs_the_verdict_uses_the_rank_test_with_the_diverged_run_worst():
    runs = runs_frame({"kbeta": [1.0, None, 1.1, 0.9, 1.2, 1.0], "adam": [2.0, 2.0, 2.5, 1.9, 2.2, 2.1]})
    row = stats.comparisons_table(runs, {"w": "adam"}).iloc[0]
    assert row["verdict_test"] == stats.DIVERGENCE_AWARE
    # the diverged seed is a loss of the largest magnitude: five wins, one large loss
    expected = sps.wilcoxon([-1.0, 2.5 + 10 * 1.6 - 2.0, -1.4, -1.0, -1.0, -1.1], zero_method="wilcox").pvalue
    assert row["p"] == pytest.approx(expected) and row["p"] > row["paired_t_p"]
    clean = stats.comparisons_table(runs_frame({"kbeta": [1.0, 1.1, 0.9], "adam": [2.0, 2.5, 1.9]}), {"w": "adam"})
    assert clean.iloc[0]["verdict_test"] == stats.PAIRED_T and clean.iloc[0]["p"] == clean.iloc[0]["paired_t_p"]


def test_relative_change_is_undefined_when_the_baseline_mean_is_near_zero():
    assert math.isnan(stats.relative_change(0.3, np.array([0.01, -0.02, 0.015])))  # mean below its error
    assert math.isnan(stats.relative_change(0.3, np.array([0.0])))
    assert stats.relative_change(-0.5, np.array([2.0, 2.2])) == pytest.approx(-0.5 / 2.1)


def test_ranks_put_a_diverged_optimizer_last_and_weigh_workloads_equally():
    runs = pd.concat(
        [
            runs_frame({"a": [1.0, 1.1], "b": [2.0, 2.1], "c": [None, None]}, workload="w1"),
            runs_frame({"a": [3.0, 3.1], "b": [1.0, 1.2], "c": [4.0, 4.2]}, workload="w2"),
        ]
    )
    blocks = stats.rank_blocks(runs)
    assert blocks.loc["w1"].to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert blocks.loc["w2"].to_dict() == {"a": 2.0, "b": 1.0, "c": 3.0}
    table = stats.ranking_table(blocks).set_index("optimizer")
    assert table["mean_rank"].to_dict() == {"a": 1.5, "b": 1.5, "c": 3.0}
    expected = sps.friedmanchisquare([1.0, 2.0], [2.0, 1.0], [3.0, 3.0]).pvalue
    assert table["friedman_p"].iloc[0] == pytest.approx(expected)
    assert table["friedman_min_p"].iloc[0] == pytest.approx(sps.chi2.sf(2 * 2, 2))  # 0.135: two blocks cannot


def coverage_grid() -> pd.DataFrame:
    """kbeta runs every workload and loses every head-to-head; adam95 runs only w1, where it is best."""
    frames = [runs_frame({"kbeta": [5.0, 5.2], "x": [2.0, 2.1], "y": [3.0, 3.3]}, workload=w) for w in ("w2", "w3")]
    frames.append(runs_frame({"kbeta": [5.0, 5.2], "x": [2.0, 2.1], "y": [3.0, 3.3], "adam95": [1.0, 1.1]}, "w1"))
    return pd.concat(frames, ignore_index=True)


def test_rankings_and_profiles_count_only_optimizers_that_ran_every_problem():
    """A missing problem is not a loss: adam95 (one workload of three) is left out of the ranks, the Friedman
    test and the profile, and kbeta, which loses everywhere, ranks last instead of gaining from the others'
    gaps (a mutation that ranks every optimizer, the missing as worst, puts adam95 in the table)."""
    runs = coverage_grid()
    summary = stats.summary_table(runs)
    assert stats.complete_optimizers(summary) == ["kbeta", "x", "y"]
    table = stats.ranking_table(stats.rank_blocks(runs)).set_index("optimizer")
    assert list(table.index) == ["x", "y", "kbeta"] and table.loc["kbeta", "mean_rank"] == 3.0
    coverage = stats.coverage_table(summary).set_index("optimizer")
    assert coverage.loc["adam95", ["problems", "of_problems", "ranked"]].tolist() == [1, 3, False]
    profiles = pd.DataFrame(
        [
            {"workload": w, "variant": "base", "optimizer": o, "time_to_target": t, "ratio": math.nan}
            for w in ("w1", "w2", "w3")
            for o, t in (("kbeta", 40.0), ("x", 10.0), ("y", 20.0), ("adam95", 5.0))
            if o != "adam95" or w == "w1"
        ]
    )
    profile = stats.performance_profile(profiles, taus=np.array([1.0]), optimizers=["kbeta", "x", "y"])
    assert set(profile["optimizer"]) == {"kbeta", "x", "y"}
    assert profile.set_index("optimizer").loc["x", "rho"] == pytest.approx(1.0)  # fastest of the ranked ones
    # no optimizer ran every problem (each workload its own set): an empty profile and no scores, not a crash
    # (mutation: the frames built without their columns: KeyError 'optimizer' in the aggregate step)
    empty = stats.performance_profile(profiles, taus=np.array([1.0]), optimizers=[])
    assert empty.empty and stats.benchmark_scores(empty).columns.tolist() == ["optimizer", "score"]


def test_head_to_head_counts_the_problems_each_pair_shares():
    pairs = stats.head_to_head(coverage_grid()).set_index(["optimizer", "against"])
    adam95 = pairs.loc[("adam95", "kbeta")]
    assert (adam95["problems"], adam95["wins"], adam95["losses"], adam95["ties"]) == (1, 1, 0, 0)
    kbeta = pairs.loc[("kbeta", "x")]
    assert (kbeta["problems"], kbeta["wins"], kbeta["losses"]) == (3, 0, 3)
    assert kbeta["sign_test_p"] == pytest.approx(sps.binomtest(0, 3).pvalue)


def curves_frame(times: dict[tuple[str, int], list[tuple[float, float]]], workload="w") -> pd.DataFrame:
    rows = []
    for (optimizer, seed), points in times.items():
        for step, (wall, value) in enumerate(points, start=1):
            rows.append(
                {
                    "workload": workload,
                    "variant": "base",
                    "optimizer": optimizer,
                    "seed": seed,
                    "step": step,
                    "train_seconds": wall,
                    "loss": value,
                }
            )
    return pd.DataFrame(rows)


def test_time_to_target_and_infinite_when_never_reached():
    curve = pd.DataFrame({"step": [10, 20, 30], "train_seconds": [1.0, 2.0, 3.0], "loss": [3.0, 1.5, 0.9]})
    assert stats.time_to_target(curve, "loss", 1.5, "min") == 20  # in steps by default
    assert stats.time_to_target(curve, "loss", 1.5, "min", clock="train_seconds") == 2.0
    assert stats.time_to_target(curve, "loss", 0.1, "min") == math.inf
    assert stats.time_to_target(curve, "loss", 2.0, "max") == 10


def test_performance_profile_and_score_on_a_constructed_example():
    """Two problems. On w1 A reaches the target in 10 s and B in 20 s; on w2 B never reaches it
    (infinite time) and A takes 5 s. Ratios: A = 1, 1; B = 2, inf. ρ_A(τ) = 1 for all τ: score 1.
    ρ_B(τ) = 0 for τ < 2 and 0.5 for τ >= 2: area over [1, 4] is 0.5 * 2 = 1, score 1/3."""
    runs = pd.concat(
        [runs_frame({"A": [1.0], "B": [1.0]}, workload="w1"), runs_frame({"A": [1.0], "B": [1.0]}, workload="w2")]
    )
    curves = pd.concat(
        [
            curves_frame({("A", 0): [(10.0, 0.5)], ("B", 0): [(10.0, 0.9), (20.0, 0.5)]}, workload="w1"),
            curves_frame({("A", 0): [(5.0, 0.5)], ("B", 0): [(5.0, 0.9), (30.0, 0.8)]}, workload="w2"),
        ]
    )
    profiles = stats.profiles_table(runs, curves, targets={"w1": 0.6, "w2": 0.6}, clock="train_seconds")
    ratios = profiles.set_index(["workload", "optimizer"])["ratio"]
    assert ratios[("w1", "A")] == 1.0 and ratios[("w1", "B")] == 2.0
    assert ratios[("w2", "A")] == 1.0 and ratios[("w2", "B")] == math.inf
    profile = stats.performance_profile(profiles, taus=np.linspace(1, 4, 3001))
    rho_b = profile[profile["optimizer"] == "B"].set_index("tau")["rho"]
    assert rho_b[rho_b.index < 1.999].max() == 0.0 and rho_b[rho_b.index >= 2.0].min() == 0.5
    scores = stats.benchmark_scores(profile).set_index("optimizer")["score"]
    assert scores["A"] == pytest.approx(1.0)
    assert scores["B"] == pytest.approx(1 / 3, abs=1e-3)


def test_an_untuned_grid_targets_the_best_optimizers_median_and_diverged_is_infinite():
    runs = runs_frame({"base": [1.0, 3.0], "x": [None, 1.0]})
    curves = curves_frame(
        {("base", 0): [(1.0, 1.0)], ("base", 1): [(2.0, 3.0)], ("x", 0): [(1.0, 9.0)], ("x", 1): [(4.0, 1.0)]}
    )
    profiles = stats.profiles_table(runs, curves, targets={"w": None}, clock="train_seconds")
    row = profiles.set_index("optimizer").loc["x"]
    # medians of the runs' best values: base (1 + 3) / 2 = 2, x (its one successful run) 1: the target is 1
    assert row["target"] == 1.0 and row["target_source"] == "scored runs (untuned; best optimizer's median)"
    assert row["n_reached"] == 1  # the diverged seed never reaches it
    assert row["time_to_target"] == 4.0  # half of the seeds (one of two) had reached it by then
    assert stats.half_reached([5.0, math.inf, math.inf]) == math.inf  # one of three is not half
    assert stats.configured_target({"base": 0.5}, "base") == 0.5 and stats.configured_target(0.7, "any") == 0.7


def test_a_tuned_grid_takes_its_target_from_the_chosen_trials_not_from_the_runs_it_scores():
    """The chosen trials' best validation values are 2.0 (base), 4.0 (x) and 3.0 (y): the target is their
    median, 3.0, whatever the scored runs reached (a mutation that reads the scored curves gives 1.0)."""
    runs = runs_frame({"base": [1.0, 3.0], "x": [2.0, 1.0], "y": [2.5, 2.5]})
    curves = curves_frame({(o, s): [(1.0, 5.0), (2.0, 1.0)] for o in ("base", "x", "y") for s in (0, 1)})
    trials = curves_frame({("base", 0): [(1.0, 2.0)], ("x", 0): [(1.0, 6.0), (2.0, 4.0)], ("y", 0): [(1.0, 3.0)]})
    profiles = stats.profiles_table(runs, curves, targets={"w": None}, clock="train_seconds", tuning_curves=trials)
    assert (profiles["target"] == 3.0).all() and profiles["target_source"].str.startswith("tuning trials").all()
    assert (profiles["time_to_target"] == 2.0).all()  # every scored run reaches 3.0 at its second evaluation
    configured = stats.profiles_table(runs, curves, targets={"w": 4.5}, tuning_curves=trials)
    assert (configured["target"] == 4.5).all() and (configured["target_source"] == "config").all()


def three_optimizer_grid(names: dict[str, str]):
    """Two workloads (w2 with two variants), three optimizers with different speeds; ``names`` relabels."""
    run_rows, curve_rows = [], []
    speeds = {"A": [1.0, 1.2], "B": [2.0, 1.8], "C": [1.5, 4.0]}
    for workload, variants in (("w1", ["base"]), ("w2", ["v1", "v2"])):
        for variant in variants:
            for optimizer, factors in speeds.items():
                for seed, factor in enumerate(factors):
                    key = dict(workload=workload, variant=variant, optimizer=names[optimizer], seed=seed)
                    run_rows.append(
                        {
                            **key,
                            "status": "ok",
                            "primary_metric": "loss",
                            "curve_metric": "loss",
                            "direction": "min",
                            "primary_value": 0.1,
                        }
                    )
                    for step in range(1, 9):
                        curve_rows.append(
                            {
                                **key,
                                "step": step * factor * (2 if variant == "v2" else 1),
                                "train_seconds": 0.0,
                                "loss": 1.0 / step,
                            }
                        )
    return pd.DataFrame(run_rows), pd.DataFrame(curve_rows)


def test_relabelling_the_optimizers_permutes_the_scores_exactly():
    """The target rule and the scores do not depend on which optimizer has which name (or is the baseline)."""
    identity = {"A": "A", "B": "B", "C": "C"}
    relabel = {"A": "C", "B": "A", "C": "B"}
    scores = {}
    for names in (identity, relabel):
        runs, curves = three_optimizer_grid(names)
        profiles = stats.profiles_table(runs, curves, targets={})
        scores[tuple(names.values())] = stats.benchmark_scores(stats.performance_profile(profiles)).set_index(
            "optimizer"
        )["score"]
    before, after = scores[("A", "B", "C")], scores[("C", "A", "B")]
    for old, new in relabel.items():
        assert after[new] == pytest.approx(before[old], abs=1e-12)
    assert before["A"] > before["B"]  # the constructed speeds do separate them


def test_every_optimizer_is_scored_over_the_same_problems_and_each_workload_weighs_the_same():
    runs, curves = three_optimizer_grid({"A": "A", "B": "B", "C": "C"})
    full = stats.benchmark_scores(stats.performance_profile(stats.profiles_table(runs, curves, targets={})))
    missing = (runs["optimizer"] == "A") & (runs["workload"] == "w2")  # A skips a workload it would win
    profiles = stats.profiles_table(
        runs[~missing], curves[~((curves["optimizer"] == "A") & (curves["workload"] == "w2"))], targets={}
    )
    partial = stats.benchmark_scores(stats.performance_profile(profiles)).set_index("optimizer")["score"]
    assert partial["A"] < full.set_index("optimizer")["score"]["A"]  # fewer problems scores lower, never higher
    problems = pd.DataFrame({"workload": ["w1", "w2", "w2", "w2"], "variant": ["a", "b", "c", "d"]})
    assert stats.problem_weights(problems).tolist() == pytest.approx([0.5, 1 / 6, 1 / 6, 1 / 6])


def test_the_curve_band_is_a_t_interval_that_two_seeds_leave_wide():
    from testbeds.analysis.plots import t_band

    low, high = t_band([1.0, 2.0])
    assert (low, high) == pytest.approx(sps.t.interval(0.95, 1, loc=1.5, scale=0.5))
    assert low < 1.0 - 5 and high > 2.0 + 5  # a bootstrap band would be the two runs' min and max
    assert t_band([3.0]) == (3.0, 3.0)
    from testbeds.analysis.plots import over_seeds

    assert over_seeds(pd.DataFrame({"seed": [0, 1, 0, 1]})) == {"units": "seed", "estimator": None}
    assert over_seeds(pd.DataFrame({"seed": [0, 1, 2]})) == {"errorbar": t_band}


def test_an_optimizer_that_diverges_on_half_its_seeds_and_loses_every_matched_seed_ranks_last():
    """a diverges on seeds 0-1 and loses to b on seeds 2-3: per seed it ranks 2 everywhere (mutation: ranks by
    the mean over runs that did not diverge, which ranked a's survivors first, 1.0 against 2.0)."""
    frame = runs_frame({"a": [None, None, 1.0, 1.0], "b": [3.0, 3.0, 0.5, 0.5], "c": [2.0, 2.0, 2.0, 2.0]})
    blocks = stats.rank_blocks(frame)
    assert blocks.loc["w", "a"] == pytest.approx(2.5) and blocks.loc["w", "b"] == pytest.approx(1.5)
    b_beats_a = runs_frame({"a": [None, None, 1.0, 1.0], "b": [0.5, 0.5, 0.5, 0.5]})
    assert stats.rank_blocks(b_beats_a).loc["w"].to_dict() == {"a": 2.0, "b": 1.0}


def test_head_to_head_counts_a_cell_by_its_tests_side_and_adjusts_like_comparisons():
    """The 12-seed case: a diverges on 9 seeds and is better on 3. Head-to-head counts it as a's loss (the test's
    side) and not as a significant one, since the complete pairs disagree (mutation: the complete pairs' mean
    decides the side, as before, which counted a win)."""
    b = [1.0 + 0.01 * k for k in range(12)]
    frame = runs_frame({"a": [None] * 9 + [v - 0.05 for v in b[9:]], "b": b})
    row = stats.head_to_head(frame).iloc[0]
    assert (row["wins"], row["losses"], row["significant_losses"]) == (0, 1, 0)
    result = stats.compare(frame[frame.optimizer == "a"], frame[frame.optimizer == "b"], "min")
    assert result["better_by_test"] is False and result["better_on_mean"] is True and not result["directions_agree"]
