"""How many seeds a paired comparison needs: the smallest difference its seeds could detect, and the seeds that
would detect a given difference, at 80% power of the paired t-test (a one-sample test of the differences,
two-sided), from the noncentral t distribution (``scipy.stats.nct``), solved with ``scipy.optimize.brentq``.

statsmodels' ``TTestPower`` computes the same power, but with scipy 1.17 it returns NaN once the effect is
large (its lower tail ``nct.cdf(-t, df, nc)`` is NaN there, and ``solve_power`` then fails to converge); the
lower tail is written here as the upper tail of the mirrored distribution, ``nct.sf(t, df, -nc)``, which is
the same number and stays finite (tests/test_power.py checks both against each other and by simulation).

The level is the one a verdict must pass first under a multiplicity rule over ``m`` tests: α/m (Holm's and
Benjamini-Hochberg's first step), a planning level on the safe side. The spread is the standard deviation of
the matched seeds' differences; with fewer than 3 pairs it cannot be estimated and every figure is NaN. Where
divergence removed pairs the verdict uses the signed-rank test, whose power at these sizes is close to the
t-test's (about 3/π of its efficiency for normal differences; tests/test_power.py simulates it).
"""

from __future__ import annotations

import math

from scipy import optimize, stats

POWER = 0.8
MIN_PAIRS = 3  # the spread of fewer differences is no estimate
MAX_SEEDS = 100_000  # beyond this "seeds needed" is reported as infinite


def level(alpha: float, tests: int) -> float:
    """The level a verdict passes first among ``tests`` adjusted tests: α/m."""
    return alpha / max(tests, 1)


def t_test_power(effect: float, n: float, alpha: float) -> float:
    """The power of the two-sided paired t-test with ``n`` pairs at level ``alpha`` when the true mean
    difference is ``effect`` standard deviations of the differences."""
    df, shift = n - 1, abs(effect) * math.sqrt(n)
    critical = stats.t.ppf(1 - alpha / 2, df)
    upper, lower = stats.nct.sf(critical, df, shift), stats.nct.sf(critical, df, -shift)
    if not math.isfinite(upper):  # a shift of thousands of standard errors (spread at rounding level)
        upper = 1.0 if shift > critical else 0.0
    return float(upper + (lower if math.isfinite(lower) else 0.0))


def detectable_difference(sd: float, n: int, alpha: float) -> float:
    """The smallest true mean difference that ``n`` pairs with differences of spread ``sd`` detect with 80%
    power at level ``alpha`` (NaN below 3 pairs or without spread)."""
    if n < MIN_PAIRS or not sd > 0:
        return math.nan
    effect = optimize.brentq(lambda e: t_test_power(e, n, alpha) - POWER, 1e-9, 1e3)
    return float(effect) * sd


def seeds_needed(difference: float, sd: float, alpha: float) -> float:
    """The pairs (seeds) that detect a true mean difference ``difference`` with 80% power at level ``alpha``,
    given the spread ``sd`` of the differences (NaN without a spread or a difference; inf when beyond
    ``MAX_SEEDS``)."""
    if not (math.isfinite(difference) and difference != 0 and math.isfinite(sd) and sd > 0):
        return math.nan
    effect = abs(difference) / sd
    if t_test_power(effect, MAX_SEEDS, alpha) < POWER:
        return math.inf
    if t_test_power(effect, MIN_PAIRS, alpha) >= POWER:
        return float(MIN_PAIRS)
    n = optimize.brentq(lambda k: t_test_power(effect, k, alpha) - POWER, MIN_PAIRS, MAX_SEEDS)
    return float(math.ceil(n))


def seeds_columns(sd, pairs, wanted: dict, alpha: float) -> dict[str, list[float]]:
    """Per row of a table of paired comparisons (the spread ``sd`` of its differences over ``pairs`` pairs):
    ``detectable``, the difference its pairs detect, and for each name of ``wanted`` (a column of
    differences) the seeds that would detect it; NaN where fewer than 3 pairs leave no estimate of the spread."""
    spread = [s if n >= MIN_PAIRS else math.nan for s, n in zip(sd, pairs)]
    columns = {"detectable": [detectable_difference(s, n, alpha) for s, n in zip(spread, pairs)]}
    for name, differences in wanted.items():
        columns[name] = [seeds_needed(d, s, alpha) for d, s in zip(differences, spread)]
    return columns


def seeds_text(seeds: float) -> str:
    """ "about 14 seeds", "more than 100,000 seeds" or ""."""
    if math.isinf(seeds):
        return f"more than {MAX_SEEDS:,} seeds"
    return f"about {seeds:.0f} seeds" if math.isfinite(seeds) else ""
