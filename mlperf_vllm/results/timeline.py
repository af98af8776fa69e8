"""How a test's per-query latencies move through the test, from the SUT's timings (sut_timings.csv).

A p99 over 600 s is set by the run's worst moments. On one H200 (Interactive, 40 QPS, 2026-12-02) the
p99 TPOT of single minutes ranged from 18.8 to 29.6 ms around the run's 27.7 ms: a few slow episodes of
seconds (a cluster of long prompts prefilled in the decode steps of everything in flight) set the tail,
and a window that misses them sees much less. `minutes` shows where the tail came from; `probe_windows`
shows what a probe of a given length at the same rate would have seen (every window of that length,
sliding by half a window), so a short test's p99 can be read against a long one's.

All figures are on the SUT's clock; LoadGen's, from its own, stay the official ones.
"""

from __future__ import annotations

import bisect
import csv
import logging
import math
import statistics
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .folder import MACHINE_FILE  # noqa: F401 (beside the timings: the machine's readings on their clock)

TIMINGS_FILE = "sut_timings.csv"  # per performance test folder (results/folder.write_timings_csv)
PROBE_SECONDS = (15, 30, 60, 140, 300)

Row = dict[str, Any]


def _read_csv(path: Path, text_fields: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The file's rows, numbers parsed; none (with a warning) for a file damaged or of another shape: what
    reads it (the report, a search's tail reference) goes on without it."""
    if not path.is_file():
        return []
    try:
        with path.open(newline="") as fh:
            return [{k: (float(v) if v not in ("", None) and not text_fields(k) else (v or None))
                     for k, v in row.items()} for row in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError, csv.Error) as exc:
        logging.getLogger(__name__).warning("%s is unreadable (%s); left out", path, exc)
        return []


def read_timings(path: Path) -> list[dict[str, Any]]:
    """Rows of a sut_timings.csv (none when there is no file) with numbers parsed (missing values as None)."""
    return _read_csv(path, lambda k: k == "error")


def read_machine(path: Path) -> list[dict[str, Any]]:
    """Rows of a machine.csv (none when there is no file): t_ms, host CPU and per-GPU readings."""
    return _read_csv(path, lambda k: k.endswith("_held"))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile, as LoadGen reports them (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _values(rows: Iterable[Row], key: str) -> list[float]:
    return [r[key] for r in rows if r.get(key) is not None]


def stats(rows: Sequence[Row]) -> dict[str, Any]:
    """Queries, mean and p99 TPOT, p99 TTFT of `rows` (ms; None where no query measured it)."""
    tpot, ttft = _values(rows, "tpot_ms"), _values(rows, "ttft_ms")
    return {"queries": len(rows), "mean_tpot_ms": sum(tpot) / len(tpot) if tpot else None,
            "p99_tpot_ms": percentile(tpot, 99), "p99_ttft_ms": percentile(ttft, 99)}


def in_flight_at(rows: Sequence[Row], t_ms: float) -> int:
    """Queries issued by t_ms and not yet complete (one with no latency never completed)."""
    return sum(1 for r in rows if r["issued_ms"] <= t_ms
               and (r.get("latency_ms") is None or r["issued_ms"] + r["latency_ms"] > t_ms))


def _timed(rows: Sequence[Row]) -> list[Row]:
    return sorted((r for r in rows if r.get("issued_ms") is not None), key=lambda r: r["issued_ms"])


def machine_stats(readings: Sequence[Row]) -> dict[str, Any]:
    """The machine in a window (readings of machine.csv): the busiest host CPU and steal readings, the
    lowest SM clock of any GPU and the seconds some GPU's clock was held back (None where not read)."""
    def top(key: str, pick: Callable[..., Any]) -> float | None:
        values = [r[k] for r in readings for k in r if k.endswith(key) and r[k] is not None]
        return pick(values) if values else None

    held = [r for r in readings if any(k.endswith("_held") and r[k] for k in r)]
    gpu_read = any(k.endswith("_sm_mhz") for r in readings for k in r)
    gaps = [b["t_ms"] - a["t_ms"] for a, b in zip(readings, readings[1:])]
    step = statistics.median(gaps) / 1000 if gaps else 1.0
    return {"cpu_busy_max": top("cpu_busy_pct", max), "steal_max": top("cpu_steal_pct", max),
            "sm_mhz_min": top("_sm_mhz", min), "held_s": round(len(held) * step) if gpu_read else None}


def minutes(rows: Sequence[Row], window_s: float = 60.0, machine: Sequence[Row] = ()) -> list[dict[str, Any]]:
    """Per window of issue time: its queries' stats, the number in flight at its end, and with machine
    readings (machine.csv, the same clock) what the machine did in it (machine_stats)."""
    timed = _timed(rows)
    if not timed:
        return []
    issued = [r["issued_ms"] for r in timed]
    width = window_s * 1000
    out = []
    for k in range(int(issued[-1] // width) + 1):
        lo, hi = k * width, (k + 1) * width
        part = timed[bisect.bisect_left(issued, lo):bisect.bisect_left(issued, hi)]
        window = {"from_s": lo / 1000, **stats(part), "in_flight_end": in_flight_at(timed, min(hi, issued[-1]))}
        if machine:
            window["machine"] = machine_stats([m for m in machine if lo <= m["t_ms"] < hi])
        out.append(window)
    return out


def probe_windows(rows: Sequence[Row], seconds: float) -> dict[str, Any]:
    """The p99 TPOT of every window of `seconds` of issue time (sliding by half a window): their median,
    10th/90th percentiles and extremes, and how far the median falls short of the whole test's p99."""
    timed = [r for r in _timed(rows) if r.get("tpot_ms") is not None]
    whole = percentile(_values(timed, "tpot_ms"), 99)
    if not timed or whole is None:
        return {"seconds": seconds, "windows": 0}
    issued = [r["issued_ms"] for r in timed]
    width, lo, p99s = seconds * 1000, 0.0, []
    while lo + width <= issued[-1]:
        part = timed[bisect.bisect_left(issued, lo):bisect.bisect_left(issued, lo + width)]
        p99 = percentile(_values(part, "tpot_ms"), 99)
        if p99 is not None:
            p99s.append(p99)
        lo += width / 2
    if not p99s:
        return {"seconds": seconds, "windows": 0}
    median = percentile(p99s, 50)
    return {"seconds": seconds, "windows": len(p99s), "min": min(p99s), "p10": percentile(p99s, 10),
            "median": median, "p90": percentile(p99s, 90), "max": max(p99s),
            "median_shortfall": 1 - median / whole if whole else None}


def analyse(rows: Sequence[Row], window_s: float = 60.0, machine: Sequence[Row] = ()) -> dict[str, Any]:
    """minutes (with the machine's readings where there are some), the prefixes a shorter run would have
    reported (first 60 .. 600 s), the whole test, and the probe windows that fit twice into it."""
    timed = _timed(rows)
    if not timed:
        return {"windows": [], "prefixes": [], "all": stats([]), "probes": []}
    end_ms = timed[-1]["issued_ms"]
    prefixes = [{"first_s": s, **stats([r for r in timed if r["issued_ms"] < s * 1000])}
                for s in (60, 120, 240, 300, 420, 600) if s * 1000 <= end_ms]
    probes = [probe_windows(timed, s) for s in PROBE_SECONDS if 2 * s * 1000 <= end_ms]
    return {"windows": minutes(timed, window_s, machine), "prefixes": prefixes, "all": stats(timed),
            "probes": probes}
