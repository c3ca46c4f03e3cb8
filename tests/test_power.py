"""The seeds a verdict needs (analysis.power): the t-test's power from the noncentral t, checked against
statsmodels, published sample sizes and simulation, including the signed-rank test the verdicts use where
divergence removed pairs; and what the front page says beside an undecided claim."""

import base64
import math

import docutils.core
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from testbeds.analysis import claims, headline, power


def test_power_equals_statsmodels_where_statsmodels_is_finite():
    # mutation: the lower tail left out (one-sided) or alpha not halved
    for effect in (0.1, 0.5, 1.0, 2.0):
        for n in (3, 5, 10, 40):
            for alpha in (0.05, 0.0125):
                expected = TTestPower().power(effect, n, alpha, alternative="two-sided")
                if math.isfinite(expected):
                    assert power.t_test_power(effect, n, alpha) == pytest.approx(expected, abs=1e-9)
    assert power.t_test_power(5.0, 5, 0.0125) == pytest.approx(1.0, abs=1e-3)  # statsmodels: NaN here


def test_seeds_needed_match_the_published_paired_t_sample_sizes():
    # Cohen's d = 0.5 and 0.8 at two-sided 5%, 80% power: 34 and 15 pairs (33.4 and 14.3 rounded up)
    assert power.seeds_needed(0.5, 1.0, 0.05) == 34
    assert power.seeds_needed(-0.8, 1.0, 0.05) == 15
    n = power.seeds_needed(0.3, 1.0, 0.01)
    assert power.t_test_power(0.3, n, 0.01) >= 0.8 > power.t_test_power(0.3, n - 1, 0.01)
    assert math.isnan(power.seeds_needed(0.0, 1.0, 0.05)) and math.isinf(power.seeds_needed(1e-4, 1.0, 0.05))
    assert math.isnan(power.detectable_difference(0.1, 2, 0.05))  # two pairs: no spread to speak of


def test_the_detectable_difference_is_detected_four_times_in_five_by_simulation():
    """At the detectable difference the paired t-test rejects in 80% of 4,000 simulated experiments; the
    signed-rank test, which the verdicts use where divergence removed pairs, in a little less (its efficiency
    for normal differences is 3/pi)."""
    n, alpha, sd = 10, 0.05, 0.3
    shift = power.detectable_difference(sd, n, alpha)
    diffs = np.random.default_rng(0).normal(shift, sd, size=(4000, n))
    t_power = np.mean(stats.ttest_1samp(diffs, 0.0, axis=1).pvalue < alpha)
    rank_power = np.mean(stats.wilcoxon(diffs, axis=1).pvalue < alpha)
    assert t_power == pytest.approx(0.8, abs=0.025)
    assert 0.70 <= rank_power <= t_power


def claim_row(n_pairs: int, **values) -> dict:
    base = {
        "id": "c",
        "source": "s",
        "statement": "A beats B",
        "arm": "w/base/a",
        "against": "w/base/b",
        "metric": "loss",
        "direction": "min",
        "min_effect": 0.0,
        "n_pairs": n_pairs,
        "n_matched_seeds": n_pairs,
        "n_pairs_removed_diverged": 0,
        "n_arm_diverged": 0,
        "n_runs": n_pairs,
        "mean_arm": 1.9,
        "mean_against": 2.0,
        "difference": -0.1,
        "sd_difference": 0.2,
        "ci_low": -0.3,
        "ci_high": 0.1,
        "relative_change": -0.05,
        "claimed_size": -0.38,
        "test": "paired t",
        "p": 0.3,
        "p_zero": 0.3,
        "ran": True,
        "fails_fixed_value": False,
        "trivial": "",
        "attribution": "",
        "provisional": "",
        "tuning_budget": 4,
        "steps": 200,
        "min_effect_note": "",
        "p_holm": 0.6,
        "verdict": "inconclusive at this scale",
    }
    return {**base, **values}


def test_an_undecided_claim_says_the_seeds_that_would_decide_it():
    # mutation: the seeds note left out of the verdict cell, or the claimed size not scaled by the comparator
    table = claims.with_power(pd.DataFrame([claim_row(5), claim_row(2, id="d")]))
    five, two = table.iloc[0], table.iloc[1]
    assert math.isnan(two["detectable_difference"]) and math.isnan(two["seeds_for_difference"])
    alpha = 0.05 / 2  # two claims with a test: Holm's first step
    assert five["seeds_for_difference"] == power.seeds_needed(-0.1, 0.2, alpha)
    assert five["seeds_for_claimed_size"] == power.seeds_needed(0.38 * 2.0, 0.2, alpha)
    assert five["detectable_difference"] == pytest.approx(power.detectable_difference(0.2, 5, alpha))
    text = "\n".join(headline.claim_lines(table))
    assert f"about {five['seeds_for_difference']:.0f} seeds for the measured -0.1 (-5.0%)" in text
    assert "with 2 pairs the spread of the differences cannot be estimated" in text


def test_every_claim_is_drawn_on_one_axis_above_the_claims_table():
    # mutation: the figure dropped from the front page, or drawn below the table
    from testbeds.analysis import plots

    table = claims.with_power(pd.DataFrame([claim_row(5), claim_row(5, id="d", verdict="supported")]))
    png = plots.claims_forest(table)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    text = "\n".join(headline.claims_section(table, png))
    assert text.index(".. image:: data:image/png;base64,") < text.index("The source projects' claims")
    assert ".. image::" not in "\n".join(headline.claims_section(table))
    # docutils renders it: the data URI joined from its lines, none past docutils' 10,000-character limit
    html = docutils.core.publish_string(text, writer_name="html", settings_overrides={"report_level": 2}).decode()
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in html and "every claim" in html
    assert max(map(len, text.splitlines())) < 10_000
