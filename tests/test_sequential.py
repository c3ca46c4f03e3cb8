"""Group-sequential boundaries and decisions (analysis.sequential) against published values and by simulation."""

import numpy as np
import pytest
from scipy import stats

from testbeds.analysis import sequential

from helpers import cell_runs as runs
from helpers import make_claim


def test_classic_obrien_fleming_boundaries_match_jennison_and_turnbull():
    # three equally spaced looks, two-sided alpha 0.05: Jennison & Turnbull table 2.3
    # mutation: the boundary shape sqrt(k/K) instead of sqrt(K/k), or a one-sided crossing probability
    assert sequential.obrien_fleming(3) == pytest.approx([3.471, 2.454, 2.004], abs=2e-3)
    assert sequential.obrien_fleming(5)[-1] == pytest.approx(2.040, abs=2e-3)  # table 2.3, K = 5


def test_lan_demets_spending_bounds_match_gsdesign():
    # gsDesign sfLDOF, k = 3 equally spaced, two-sided alpha 0.05 (0.025 per side): 3.7103, 2.5114, 1.9930
    assert sequential.spending_bounds([1 / 3, 2 / 3, 1.0]) == pytest.approx([3.7103, 2.5114, 1.9930], abs=2e-3)
    fractions = [0.25, 0.5, 1.0]
    bounds = sequential.spending_bounds(fractions)
    assert sequential.crossing_probability(bounds, fractions) == pytest.approx(0.05, abs=1e-4)
    assert sequential.boundaries([5, 10, 20]) == pytest.approx(bounds, abs=1e-3)  # unequal looks: spending
    assert sequential.boundaries([5, 10, 15]) == pytest.approx(sequential.obrien_fleming(3), abs=1e-3)
    with pytest.raises(ValueError, match="increase"):
        sequential.boundaries([5, 5, 10])


def test_the_z_statistic_keeps_the_t_tests_p_value():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4])
    z = sequential.z_statistic(d)
    assert 2 * stats.norm.sf(abs(z)) == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue)


def test_a_claim_stops_at_the_first_look_it_crosses():
    bounds = sequential.obrien_fleming(3)
    clear = np.full(15, -1.0) + np.random.default_rng(0).normal(0, 0.05, 15)  # far below zero: claimed side -1
    assert sequential.run_claim(clear, [5, 10, 15], bounds, claimed_side=-1.0) == ("supported", 5)
    assert sequential.run_claim(-clear, [5, 10, 15], bounds, claimed_side=-1.0) == ("contradicted", 5)
    noise = np.random.default_rng(1).normal(0, 1, 15)
    verdict, seeds = sequential.run_claim(noise, [5, 10, 15], bounds, claimed_side=-1.0)
    assert (verdict, seeds) == ("inconclusive", 15)


CLEAR = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99]  # far below B's 2: crosses at the first look
NOISE = [2.3, 1.6, 2.1, 1.8, 2.4, 1.7, 2.05, 1.95]  # around B's 2: never crosses
TWO = [2.0, 2.02, 1.98, 2.01, 1.99, 2.0, 2.03, 1.97]


def test_a_look_stops_the_claims_that_cross_and_retests_only_the_open_ones():
    claims = [make_claim("clear", "A", {"optimizer": "B"}), make_claim("noise", "C", {"optimizer": "B"})]
    grid = runs({"A": CLEAR, "B": TWO, "C": NOISE})
    first = sequential.look(claims, grid, 0, [4, 8], [0, 1, 2, 3])
    assert first["claims"]["clear"]["status"] == "supported" and first["claims"]["noise"]["status"] == "open"
    assert [c["id"] for c in sequential.open_claims(first, claims)] == ["noise"]
    # the next look's runs hold no new seed for the stopped claim's arm: it keeps its look and seeds
    # (mutation: retesting every claim at every look makes "clear" look 2 with 8 seeds)
    later = runs({"A": CLEAR[:4], "B": TWO, "C": NOISE})
    second = sequential.look(claims, later, 1, [4, 8], list(range(8)), previous=first)
    assert second["claims"]["clear"] == first["claims"]["clear"]
    assert second["claims"]["noise"]["status"] == "inconclusive" and second["claims"]["noise"]["seeds"] == list(
        range(8)
    )


def test_each_claim_is_tested_at_alpha_over_the_number_of_claims():
    # Bonferroni across the claims: mutation: alpha instead of alpha / m lowers both claims' boundary
    claims = [make_claim("a", "A", {"optimizer": "B"}), make_claim("c", "C", {"optimizer": "B"})]
    result = sequential.look(claims, runs({"A": CLEAR, "B": TWO, "C": NOISE}), 0, [4, 8], [0, 1, 2, 3])
    assert result["claims"]["a"]["bound"] == pytest.approx(sequential.boundaries([4, 8], 0.025)[0], abs=1e-5)
    assert result["alpha"] == 0.025


def test_a_claim_is_not_supported_at_a_look_where_its_arm_diverged():
    # mutation: dropping the diverged pair and deciding on the others supports it at the first look
    diverged = [None, *CLEAR[1:]]
    result = sequential.look(
        [make_claim("c", "A", {"optimizer": "B"})], runs({"A": diverged, "B": TWO}), 0, [4, 8], [0, 1, 2, 3]
    )
    assert result["claims"]["c"]["status"] == "open" and result["claims"]["c"]["arm_diverged"] == 1


def test_support_needs_the_smallest_effect_and_contradiction_the_other_side_of_zero():
    # A is 1 below B: past a min_effect of 0.5, not past one of 1.5 (then open, not contradicted: the
    # difference is on the claimed side of zero). Mutation: testing support against zero supports both.
    grid = runs({"A": CLEAR, "B": TWO})
    small = sequential.look([make_claim("c", "A", {"optimizer": "B"}, min_effect=0.5)], grid, 0, [4, 8], [0, 1, 2, 3])
    large = sequential.look([make_claim("c", "A", {"optimizer": "B"}, min_effect=1.5)], grid, 0, [4, 8], [0, 1, 2, 3])
    assert small["claims"]["c"]["status"] == "supported" and large["claims"]["c"]["status"] == "open"
    against_value = sequential.look([make_claim("v", "A", {"value": 0.5})], grid, 0, [4, 8], [0, 1, 2, 3])
    assert against_value["claims"]["v"]["status"] == "contradicted"  # A is far above 0.5, claimed below


def test_a_claim_is_not_contradicted_at_a_look_where_its_comparator_diverged():
    # A is far above B (claimed below): contradicted on complete pairs, but B diverged on seed 0, and dropping
    # that pair removed evidence for A (mutation: no comparator check contradicts it at the first look)
    grid = runs({"A": [3.0, 3.01, 2.99, 3.02], "B": [None, *TWO[1:4]]})
    result = sequential.look([make_claim("c", "A", {"optimizer": "B"})], grid, 0, [4, 8], [0, 1, 2, 3])
    assert result["claims"]["c"]["status"] == "open" and result["claims"]["c"]["comparator_diverged"] == 1
    clean = sequential.look(
        [make_claim("c", "A", {"optimizer": "B"})],
        runs({"A": [3.0, 3.01, 2.99, 3.02], "B": TWO}),
        0,
        [4, 8],
        [0, 1, 2, 3],
    )
    assert clean["claims"]["c"]["status"] == "contradicted"
