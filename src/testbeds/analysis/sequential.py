"""Group-sequential tests of a claim: seeds added in looks, the claim tested at each look against a two-sided
O'Brien-Fleming-type boundary, and stopped once it crosses.

Boundaries are on the z scale, for a statistic that is a Brownian motion in the information fraction t (the
seeds so far over the last look's): at equally spaced looks the classic O'Brien-Fleming boundary c·√(K/k)
(Jennison & Turnbull, Group Sequential Methods, table 2.3: 3.471, 2.454, 2.004 for three looks at two-sided
α = 0.05), at unequal looks the Lan-DeMets spending function of O'Brien-Fleming type, each side spending
α/2 as 2 − 2Φ(z_{α/4}/√t) (the form of R's gsDesign ``sfLDOF`` and ldbounds: 3.710, 2.511, 1.993 at three
equal looks). Probabilities of crossing come from the multivariate normal of the looks' statistics
(correlation √(t_i/t_j), ``scipy.stats.multivariate_normal``), boundaries from ``scipy.optimize.brentq``: no
well-kept Python package computes them (gsDesign and ldbounds are R).

A look's statistic is the paired t-test's, carried to the z scale through its own p-value
(z = Φ⁻¹(F_t(t; n − 1))), so that each look alone keeps the t-test's level with few seeds. Across claims the
family-wise error is kept by Bonferroni's rule: each claim's boundaries at α/m.

In the pipeline (``claims.sequential.looks``), ``look`` tests every claim still open on one look's seeds
(scripts/look.py, a checkpoint per look: workflow/rules/looks.smk) and ``open_claims`` says whose cells get
the next look's seeds.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from testbeds.analysis import claims
from testbeds.analysis.stats import ALPHA


def crossing_probability(bounds: list[float], fractions: list[float]) -> float:
    """P(|Z_k| ≥ bounds[k] at some look k) for a standard Brownian statistic observed at ``fractions``."""
    t = np.asarray(fractions, dtype=float)
    b = np.asarray(bounds, dtype=float)
    correlation = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    normal = stats.multivariate_normal(np.zeros(len(t)), correlation, seed=0, abseps=1e-6)  # Genz: quasi-random
    inside = normal.cdf(b, lower_limit=-b)
    return float(1.0 - inside)


def obrien_fleming(looks: int, alpha: float = 0.05) -> list[float]:
    """The classic two-sided O'Brien-Fleming boundaries c·√(K/k) for ``looks`` equally spaced looks."""
    return list(_obrien_fleming(looks, alpha))


@functools.cache
def _obrien_fleming(looks: int, alpha: float) -> tuple[float, ...]:
    fractions = [k / looks for k in range(1, looks + 1)]
    shape = [math.sqrt(looks / k) for k in range(1, looks + 1)]
    c = optimize.brentq(lambda c: crossing_probability([c * s for s in shape], fractions) - alpha, 0.5, 20.0)
    return tuple(c * s for s in shape)


def obrien_fleming_spending(fraction: float, alpha: float = 0.05) -> float:
    """The two-sided error spent by information ``fraction``: each side 2 − 2Φ(z_{α/4}/√t)."""
    return 2 * (2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 4) / math.sqrt(fraction)))


def spending_bounds(fractions: list[float], alpha: float = 0.05) -> list[float]:
    """Lan-DeMets boundaries of O'Brien-Fleming type at any increasing ``fractions`` ending at 1: each look's
    boundary spends what the spending function adds since the previous look."""
    return list(_spending_bounds(tuple(fractions), alpha))


@functools.cache
def _spending_bounds(fractions: tuple[float, ...], alpha: float) -> tuple[float, ...]:
    bounds: list[float] = []
    for k, t in enumerate(fractions):
        spent = obrien_fleming_spending(t, alpha)
        bounds.append(
            optimize.brentq(lambda b: crossing_probability([*bounds, b], fractions[: k + 1]) - spent, 0.1, 40.0)
        )
    return tuple(bounds)


def boundaries(looks: list[int], alpha: float = 0.05) -> list[float]:
    """The z boundaries of looks at ``looks`` seeds (increasing): classic at equally spaced looks, else
    Lan-DeMets spending."""
    if any(b <= a for a, b in zip(looks, looks[1:])) or looks[0] < 2:
        raise ValueError(f"looks must increase from at least 2 seeds, got {looks}")
    if all(n == looks[0] * (k + 1) for k, n in enumerate(looks)):
        return obrien_fleming(len(looks), alpha)
    return spending_bounds([n / looks[-1] for n in looks], alpha)


def z_statistic(differences: np.ndarray, shift: float = 0.0) -> float:
    """The paired t-test's statistic of "the mean difference is ``shift``" on the z scale, through its
    p-value: Φ⁻¹ of the t distribution's CDF (NaN without spread)."""
    d = np.asarray(differences, dtype=float) - shift
    if len(d) < 2 or not d.std() > 0:
        return math.nan
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    return float(stats.norm.ppf(stats.t.cdf(t, len(d) - 1)))


def decision(z_claim: float, z_zero: float, bound: float, claimed_side: float, last: bool) -> str:
    """A claim at one look: "supported" when the statistic of "the difference is the claim's threshold"
    (``z_claim``) is past the boundary on the claimed side, "contradicted" when that of "the difference is 0"
    (``z_zero``) is past it on the other side, else "open" (or "inconclusive" at the last look)."""
    if math.isfinite(z_claim) and z_claim * claimed_side >= bound:
        return "supported"
    if math.isfinite(z_zero) and -z_zero * claimed_side >= bound:
        return "contradicted"
    return "inconclusive" if last else "open"


def run_claim(differences: np.ndarray, looks: list[int], bounds: list[float], claimed_side: float) -> tuple[str, int]:
    """The verdict and the seeds used of a claim whose paired differences (in seed order, at least the last
    look's count) are tested at each look until one crosses."""
    for k, n in enumerate(looks):
        z = z_statistic(differences[:n])
        verdict = decision(z, z, bounds[k], claimed_side, k == len(looks) - 1)
        if verdict != "open":
            return verdict, n
    raise AssertionError("the last look always decides")


def claim_at_look(claim: dict, runs: pd.DataFrame, bound: float, last: bool) -> dict:
    """One claim at one look, on ``runs`` (the look's seeds): the paired t statistics over complete pairs (arm
    − against, or arm − its fixed value) on the z scale, and the decision. Divergence never decides for the
    side that diverged: a claim whose own arm diverged on a seed is not supported at this look, and one whose
    comparator diverged is not contradicted (dropping that pair removed evidence for the arm); it stays open,
    or ends inconclusive."""
    a = claims.arm_values(runs, claims.arms(claim)[0], claim["metric"])
    b = claims.against_values(claim, runs, a.index)
    pairs = pd.concat({"a": a, "b": b}, axis=1, join="inner").dropna()
    differences = (pairs["a"] - pairs["b"]).to_numpy()
    z_claim, z_zero = z_statistic(differences, claims.threshold(claim)), z_statistic(differences)
    claimed_side = -1.0 if claim["direction"] == "min" else 1.0
    status = decision(z_claim, z_zero, bound, claimed_side, last)
    diverged, comparator_diverged = int(a.isna().sum()), int(b.isna().sum())
    if (status == "supported" and diverged) or (status == "contradicted" and comparator_diverged):
        status = "inconclusive" if last else "open"
    return {
        "status": status,
        "z": _json_number(z_claim),
        "z_zero": _json_number(z_zero),
        "n_pairs": len(pairs),
        "arm_diverged": diverged,
        "comparator_diverged": comparator_diverged,
    }


def _json_number(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None  # JSON has no NaN


def look(
    claim_list: list[dict],
    runs: pd.DataFrame,
    index: int,
    looks: list[int],
    seeds: list[int],
    previous: dict | None = None,
    alpha: float = ALPHA,
) -> dict:
    """Look ``index`` (from 0) of a sequential design: every claim still open after the ``previous`` look is
    tested on the runs of ``seeds`` (this look's) against its boundary at level α/m over the m claims
    (Bonferroni); a claim that stopped earlier keeps its verdict, look and seeds."""
    bound = boundaries(looks, alpha / len(claim_list))[index]
    runs = runs[runs["seed"].isin(seeds)]
    decided = {} if previous is None else previous["claims"]
    results = {}
    for claim in claim_list:
        earlier = decided.get(claim["id"])
        if earlier is not None and earlier["status"] != "open":
            results[claim["id"]] = earlier
            continue
        tested = claim_at_look(claim, runs, bound, index == len(looks) - 1)
        results[claim["id"]] = {**tested, "look": index + 1, "seeds": list(seeds), "bound": round(bound, 6)}
    return {"look": index + 1, "looks": list(looks), "alpha": alpha / len(claim_list), "claims": results}


def open_claims(result: dict | None, claim_list: list[dict]) -> list[dict]:
    """The claims a look leaves open (every claim before the first look; a claim the look did not test, as
    in a look file left by an earlier grid that Snakemake is about to re-run, counts as open)."""
    if result is None:
        return list(claim_list)
    return [c for c in claim_list if result["claims"].get(c["id"], {"status": "open"})["status"] == "open"]
