"""How a run's per-query latencies move through the run: does a long run see what a short one sees?

    python benchmarks/latency_over_time.py RUN_DIR/Performance/sut_timings.csv [--window 60] [--json]

Reads the SUT's per-sample timings (sut_timings.csv, written for every performance test) and prints,
per window of issue time, the queries issued, their mean and p99 TPOT, p99 TTFT and the number in
flight at the window's end; then the p99s of the queries issued in the first 60, 120, 240, 300, 420
and 600 s: what a run of that duration would have seen (on the SUT's clock; LoadGen's figures, from
its own, stay the official ones).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, as LoadGen reports them (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def read_rows(path: Path) -> list[dict[str, float | None]]:
    def num(text: str) -> float | None:
        return float(text) if text not in ("", "None") else None

    with path.open(newline="") as f:
        return [{k: num(r[k]) for k in ("issued_ms", "ttft_ms", "latency_ms", "tpot_ms")} for r in csv.DictReader(f)]


def _stats(rows: list[dict[str, float | None]]) -> dict[str, float | int | None]:
    tpot = [r["tpot_ms"] for r in rows if r["tpot_ms"] is not None]
    ttft = [r["ttft_ms"] for r in rows if r["ttft_ms"] is not None]
    return {"queries": len(rows), "mean_tpot_ms": sum(tpot) / len(tpot) if tpot else None,
            "p99_tpot_ms": percentile(tpot, 99), "p99_ttft_ms": percentile(ttft, 99)}


def in_flight_at(rows: list[dict[str, float | None]], t_ms: float) -> int:
    return sum(1 for r in rows if r["issued_ms"] <= t_ms
               and (r["latency_ms"] is None or r["issued_ms"] + r["latency_ms"] > t_ms))


def analyse(rows: list[dict[str, float | None]], window_s: float) -> dict[str, list[dict]]:
    end_ms = max(r["issued_ms"] for r in rows)
    windows = []
    for k in range(int(end_ms // (window_s * 1000)) + 1):
        lo, hi = k * window_s * 1000, (k + 1) * window_s * 1000
        part = [r for r in rows if lo <= r["issued_ms"] < hi]
        windows.append({"from_s": lo / 1000, **_stats(part), "in_flight_end": in_flight_at(rows, min(hi, end_ms))})
    prefixes = [{"first_s": s, **_stats([r for r in rows if r["issued_ms"] < s * 1000])}
                for s in (60, 120, 240, 300, 420, 600) if s * 1000 <= end_ms]
    return {"windows": windows, "prefixes": prefixes, "all": [_stats(rows)]}


def _fmt(v: float | int | None) -> str:
    return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", type=Path)
    p.add_argument("--window", type=float, default=60.0, help="seconds of issue time per row")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    rows = read_rows(a.csv)
    if not rows:
        raise SystemExit(f"{a.csv}: no timings")
    out = analyse(rows, a.window)
    if a.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{'from s':>7} {'queries':>8} {'mean TPOT':>10} {'p99 TPOT':>9} {'p99 TTFT':>9} {'in flight':>9}")
    for w in out["windows"]:
        print(f"{w['from_s']:>7.0f} {w['queries']:>8} {_fmt(w['mean_tpot_ms']):>10} {_fmt(w['p99_tpot_ms']):>9} "
              f"{_fmt(w['p99_ttft_ms']):>9} {w['in_flight_end']:>9}")
    print("\nqueries issued in the first N s (what a run of that length reports):")
    for w in out["prefixes"] + [{"first_s": "all", **out["all"][0]}]:
        print(f"  {w['first_s']!s:>4}: {w['queries']} queries, mean TPOT {_fmt(w['mean_tpot_ms'])} ms, "
              f"p99 TPOT {_fmt(w['p99_tpot_ms'])} ms, p99 TTFT {_fmt(w['p99_ttft_ms'])} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
