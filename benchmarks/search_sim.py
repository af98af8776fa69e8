#!/usr/bin/env python3
"""The whole QPS search (orchestrate.search.run_search and settle) on the simulated engine of
tests/sim_engine.py, seed after seed: where it settles, and whether a 600 s run there is VALID.

    python benchmarks/search_sim.py [--regime interactive|server] [--seeds 20] [--ceiling QPS]

interactive: the engine's TPOT limit binds (20 ms, TTFT 500 ms), as on the H200 in Interactive.
server: TPOT never binds and TTFT (2 s) does once the batch's seats fill and a queue forms, the shape of
the H200's Server edge. The highest VALID fixed rate is found as a submitter would: one 600 s run per
rate on a 0.5 QPS grid. Virtual time: a search of minutes takes seconds here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlperf_vllm.orchestrate import search  # noqa: E402
from tests import sim_engine as se  # noqa: E402

REGIMES = {"interactive": (se.TTFT_LIMIT_MS, se.TPOT_LIMIT_MS, [38.0 + 0.5 * k for k in range(17)]),
           "server": (2000.0, 1e9, [53.0 + 0.5 * k for k in range(9)])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regime", choices=sorted(REGIMES), default="server")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--ceiling", type=float, default=None, help="the Offline rate the search starts under")
    ap.add_argument("--budget-min", type=float, default=7.0, help="--search-budget-min")
    args = ap.parse_args(argv)
    ttft, tpot, grid = REGIMES[args.regime]
    se.TTFT_LIMIT_MS, se.TPOT_LIMIT_MS = ttft, tpot  # the engine's full runs and its runner read these
    fixed = max(q for q in grid if se.full_run_valid(q, 20_000 + int(q * 10))[0])
    valid, both, ratios = 0, 0, []
    for seed in range(1, args.seeds + 1):
        runner = se.SimRunner(seed)
        runner.cfg.search_budget_min = args.budget_min
        start = search.start_qps(args.ceiling) if args.ceiling else 2.0
        result = search.settle(runner, search.run_search(runner, start, args.ceiling))
        q = result.settled_qps or result.best_qps
        ok = se.full_run_valid(q, 30_000 + seed)[0]
        valid, ratio = valid + ok, q / fixed
        both += ok and ratio >= 0.97
        ratios.append(ratio)
        longs = ", ".join(f"{p.qps:.4g} {'pass' if p.passed else 'fail'}" for p in result.settle_probes)
        print(f"seed {seed:2d}: {q:.4g} QPS, {'VALID' if ok else 'INVALID'}, {ratio:.3f} of F; long probes {longs}; "
              f"{result.settle_why}")
    print(f"{args.regime}, ceiling {args.ceiling}: highest VALID fixed F = {fixed:g} QPS; VALID first time {valid} of "
          f"{args.seeds}; median pick {statistics.median(ratios):.3f} of F; >= 0.97 F {sum(r >= 0.97 for r in ratios)}; "
          f"both {both}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
