#!/usr/bin/env python
"""The sequential rule's error rate, power and expected seeds, simulated (testbeds.analysis.sequential).

Claims whose paired differences are normal with the spread ``--sd`` (the study's seed-to-seed spread of a
claim's differences) and a true mean of 0 (A/A: any verdict is false) or a known effect; each claim tested
at the looks ``--looks`` against O'Brien-Fleming-type boundaries at α/m (``--claims`` m, Bonferroni), and
stopped at the first crossing. Beside it, the fixed design (every claim at the last look's seeds, one paired
t-test at α/m) and the fixed design with the sequential rule's own power.

    python benchmarks/sequential.py --sd 0.1 --looks 5 10 20 --sims 4000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from testbeds.analysis import power, sequential  # noqa: E402


def simulate(effect: float, sd: float, looks: list[int], bounds: list[float], alpha: float, sims: int, seed: int):
    """(rate of "supported", rate of "contradicted", mean seeds used, fixed design's rejection rate)."""
    rng = np.random.default_rng(seed)
    supported = contradicted = 0
    seeds = []
    fixed = 0
    for _ in range(sims):
        d = rng.normal(effect, sd, looks[-1])
        verdict, used = sequential.run_claim(d, looks, bounds, claimed_side=1.0)
        supported += verdict == "supported"
        contradicted += verdict == "contradicted"
        seeds.append(used)
        fixed += stats.ttest_1samp(d, 0.0).pvalue < alpha
    return supported / sims, contradicted / sims, float(np.mean(seeds)), fixed / sims


def fixed_seeds_for(rate: float, effect: float, sd: float, alpha: float) -> float:
    """The seeds of a fixed design with power ``rate`` (NaN when below its level)."""
    if rate <= alpha or effect == 0:
        return math.nan
    return optimize.brentq(lambda n: power.t_test_power(effect / sd, n, alpha) - rate, 2, 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sd", type=float, default=0.1, help="spread of a claim's paired differences")
    parser.add_argument("--looks", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--claims", type=int, default=1, help="claims tested together (Bonferroni α/m)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--sims", type=int, default=4000)
    parser.add_argument("--effects", type=float, nargs="*", help="true mean differences (default: 0 and two sizes)")
    args = parser.parse_args()
    alpha = args.alpha / args.claims
    bounds = sequential.boundaries(args.looks, alpha)
    detectable = power.detectable_difference(args.sd, args.looks[-1], alpha)
    effects = args.effects if args.effects is not None else [0.0, detectable, 1.5 * detectable]
    print(
        f"looks {args.looks}, z boundaries {', '.join(f'{b:.3f}' for b in bounds)} at α/m = {alpha:.3g}; "
        f"sd {args.sd}; {args.sims} simulated claims per row"
    )
    header = (
        "true effect",
        "supported",
        "contradicted",
        "false verdicts",
        "mean seeds",
        "fixed-n rejects",
        "fixed n, same power",
        "seconds",
    )
    print(" | ".join(header))
    for i, effect in enumerate(effects):
        started = time.perf_counter()
        yes, no, seeds, fixed = simulate(effect, args.sd, args.looks, bounds, alpha, args.sims, seed=i)
        false = yes + no if effect == 0 else no
        same = fixed_seeds_for(yes, effect, args.sd, alpha)
        print(
            f"{effect:.4g} | {yes:.4f} | {no:.4f} | {false:.4f} | {seeds:.2f} | {fixed:.4f} | "
            f"{same:.1f} | {time.perf_counter() - started:.1f}"
        )


if __name__ == "__main__":
    main()
