"""How a run's per-query latencies move through the run: does a long run see what a short one sees?

    python benchmarks/latency_over_time.py RUN_DIR/Performance/sut_timings.csv[.gz] [--window 60] [--json]

Reads the SUT's per-sample timings (sut_timings.csv, written for every performance test) and prints,
per window of issue time, the queries issued, their mean and p99 TPOT, p99 TTFT and the number in
flight at the window's end; then the p99s of the queries issued in the first 60, 120, 240, 300, 420
and 600 s: what a run of that duration would have seen; then what a probe of 15, 30, 60, 140 or 300 s
at the same rate would have seen: the spread of the p99 TPOT of every such window (sliding by half a
window) and how far their median falls short of the whole run's p99. All on the SUT's clock
(mlperf_vllm/results/timeline.py); LoadGen's figures, from its own, stay the official ones.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlperf_vllm.results import timeline  # noqa: E402


def read_rows(path: Path) -> list[dict[str, float | None]]:
    def num(text: str) -> float | None:
        return float(text) if text not in ("", "None") else None

    opener = gzip.open if path.suffix == ".gz" else open  # the evidence under docs/gpu-evidence/ is compressed
    with opener(path, "rt", newline="") as f:  # type: ignore[operator]
        return [{k: num(r[k]) for k in ("issued_ms", "ttft_ms", "latency_ms", "tpot_ms")} for r in csv.DictReader(f)]


def _fmt(v: float | int | None) -> str:
    return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", type=Path)
    p.add_argument("--window", type=float, default=60.0, help="seconds of issue time per row")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    try:
        rows = read_rows(a.csv)
    except (OSError, KeyError, ValueError) as e:
        raise SystemExit(f"{a.csv}: not a readable sut_timings.csv ({e})") from None
    if not rows:
        raise SystemExit(f"{a.csv}: no timings")
    out = timeline.analyse(rows, a.window)
    if a.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'from s':>7} {'queries':>8} {'mean TPOT':>10} {'p99 TPOT':>9} {'p99 TTFT':>9} {'in flight':>9}")
    for w in out["windows"]:
        print(f"{w['from_s']:>7.0f} {w['queries']:>8} {_fmt(w['mean_tpot_ms']):>10} {_fmt(w['p99_tpot_ms']):>9} "
              f"{_fmt(w['p99_ttft_ms']):>9} {w['in_flight_end']:>9}")
    print("\nqueries issued in the first N s (what a run of that length reports):")
    for w in out["prefixes"] + [{"first_s": "all", **out["all"]}]:
        print(f"  {w['first_s']!s:>4}: {w['queries']} queries, mean TPOT {_fmt(w['mean_tpot_ms'])} ms, "
              f"p99 TPOT {_fmt(w['p99_tpot_ms'])} ms, p99 TTFT {_fmt(w['p99_ttft_ms'])} ms")
    print("\np99 TPOT of every window of N s (what a probe of that length at this rate sees):")
    for w in out["probes"]:
        if w["windows"]:
            print(f"  {w['seconds']:>4} s: {w['windows']} windows, min {_fmt(w['min'])}, p10 {_fmt(w['p10'])}, "
                  f"median {_fmt(w['median'])}, p90 {_fmt(w['p90'])}, max {_fmt(w['max'])} ms; the median is "
                  f"{100 * w['median_shortfall']:.0f}% under the whole run's p99")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # `| head` closed the pipe: what was read is all that was wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0)
