"""Group-sequential boundaries and decisions (analysis.sequential) against published values and by simulation."""

import numpy as np
import pytest
from scipy import stats

from testbeds.analysis import sequential


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
