"""What the machine did during a LoadGen test: the host's CPU load and steal, and each GPU's SM clock,
power, temperature and the reasons its clock was held back, read once a second beside the test.

A latency tail can come from outside the engine. On one H200 (2026-12-03) a 14 s QPS probe at 40 QPS
ran at twice the TPOT (median 36 ms against 16.9 ms) of a probe with the same LoadGen schedule and the
same prompts two days earlier, and the probes at 36 and 38 QPS just after it ran as fast as ever: the
engine had not changed, so something around it had. A verdict is only as good as the machine under it,
so every test logs what the machine did (one line in run.log, `machine` in summary.json's tests) and a
performance test keeps the samples as machine.csv beside its SUT timings; the report shows them minute
by minute next to the latencies.

The host figures come from /proc/stat (Linux; none elsewhere). Steal is time the hypervisor gave this
machine's virtual CPUs to someone else. The GPU figures come from NVML (nvidia-ml-py, which vLLM's CUDA
builds install); without it, or without a GPU, there are none, and the line says so.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
PROC_STAT = Path("/proc/stat")
PROC_LOADAVG = Path("/proc/loadavg")

# NVML's clock event reasons (nvmlClocksEventReason*): the ones that hold the SM clock under what the
# load asks for. Idle, an application clock setting, sync boost and display clocks are not slowdowns.
HELD_BACK = {0x4: "power cap", 0x8: "hardware slowdown", 0x20: "thermal (software)", 0x40: "thermal (hardware)",
             0x80: "power brake"}


def _cpu_times(path: Path = PROC_STAT) -> tuple[int, int, int] | None:
    """(busy, steal, total) jiffies of all CPUs together; None where /proc/stat cannot be read."""
    try:
        with path.open() as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]] + [0] * max(0, 9 - len(fields))  # user .. steal
    user, nice, system, idle, iowait, irq, softirq, steal = values[:8]
    return user + nice + system + irq + softirq, steal, sum(values[:8])


def _load1(path: Path = PROC_LOADAVG) -> float | None:
    try:
        return float(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _nvml() -> Any | None:
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return None
    return pynvml


def _visible_handles(nvml: Any) -> list[tuple[str, Any]]:
    """(label, handle) of the GPUs this process may use: CUDA_VISIBLE_DEVICES' indices or GPU UUIDs,
    labelled as CUDA numbers them (0, 1, ...); every GPU when the variable is unset. An index is NVML's
    (PCI bus order), which is CUDA's for a box of identical GPUs."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return [(str(i), nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(nvml.nvmlDeviceGetCount())]
    out = []
    for i, ident in enumerate(v.strip() for v in visible.split(",") if v.strip()):
        if ident.isdigit():
            out.append((str(i), nvml.nvmlDeviceGetHandleByIndex(int(ident))))
        elif ident.startswith("GPU-"):
            out.append((str(i), nvml.nvmlDeviceGetHandleByUUID(ident)))
        else:  # a MIG instance or another form NVML reads differently: no GPU figures rather than wrong ones
            raise ValueError(f"CUDA_VISIBLE_DEVICES entry {ident!r}")
    return out


def _reasons(nvml: Any, handle: Any) -> int:
    read = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
        nvml.nvmlDeviceGetCurrentClocksThrottleReasons
    return int(read(handle))


class GpuReader:
    """One NVML reading per visible GPU; `ok` is False (with `why`) when there is nothing to read."""

    def __init__(self, nvml: Any | None = None) -> None:
        self.nvml = nvml if nvml is not None else _nvml()
        self.handles: list[tuple[str, Any]] = []
        self.why = ""
        self._initialised = False
        if self.nvml is None:
            self.why = "no NVML (nvidia-ml-py)"
            return
        try:
            self.nvml.nvmlInit()
            self._initialised = True
            self.handles = _visible_handles(self.nvml)
        except Exception as exc:  # NVML raises its own NVMLError per cause; any of them means no figures
            self.why = f"NVML: {exc}"
            self.handles = []
            return
        if not self.handles:
            self.why = "no GPU visible"

    @property
    def ok(self) -> bool:
        return bool(self.handles)

    def read(self) -> dict[str, Any]:
        nvml, row = self.nvml, {}
        for label, h in self.handles:
            row[f"gpu{label}_sm_mhz"] = nvml.nvmlDeviceGetClockInfo(h, nvml.NVML_CLOCK_SM)
            row[f"gpu{label}_power_w"] = round(nvml.nvmlDeviceGetPowerUsage(h) / 1000, 1)
            row[f"gpu{label}_temp_c"] = nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)
            row[f"gpu{label}_util_pct"] = nvml.nvmlDeviceGetUtilizationRates(h).gpu
            bits = _reasons(nvml, h)
            row[f"gpu{label}_held"] = "+".join(name for bit, name in HELD_BACK.items() if bits & bit)
        return row

    def close(self) -> None:
        """Balances nvmlInit (NVML counts them), also when no GPU was read or the readings stopped."""
        if self._initialised:
            self._initialised = False
            try:
                self.nvml.nvmlShutdown()
            except Exception:  # shutting down a library that is going away anyway
                pass


@dataclass
class MachineStats:
    """A test's machine readings (t_ns: perf_counter_ns) and their summary."""

    interval_s: float = INTERVAL_S
    rows: list[dict[str, Any]] = field(default_factory=list)
    gpus: list[str] = field(default_factory=list)
    no_gpu: str = ""  # why there are no GPU figures

    def _col(self, key: str) -> list[float]:
        return [r[key] for r in self.rows if r.get(key) is not None]

    def to_dict(self) -> dict[str, Any]:
        busy, steal, load = self._col("cpu_busy_pct"), self._col("cpu_steal_pct"), self._col("load1")
        out: dict[str, Any] = {"samples": len(self.rows), "interval_s": self.interval_s,
                               "cpu_busy_pct": _spread(busy), "cpu_steal_pct": _spread(steal),
                               "load1_max": max(load) if load else None, "gpus": {}}
        for g in self.gpus:
            clock = self._col(f"gpu{g}_sm_mhz")
            held: dict[str, float] = {}
            for r in self.rows:
                for name in filter(None, (r.get(f"gpu{g}_held") or "").split("+")):
                    held[name] = held.get(name, 0.0) + self.interval_s
            out["gpus"][g] = {"sm_mhz": {"min": min(clock), "median": statistics.median(clock), "max": max(clock)}
                              if clock else None,
                              "power_w_max": max(self._col(f"gpu{g}_power_w"), default=None),
                              "temp_c_max": max(self._col(f"gpu{g}_temp_c"), default=None),
                              "util_pct_mean": _mean(self._col(f"gpu{g}_util_pct")),
                              "held_back_s": held}
        if self.no_gpu:
            out["no_gpu"] = self.no_gpu
        return out

    def line(self) -> str:
        return "machine during the test: " + describe(self.to_dict())

    def csv_text(self, t0_ns: int) -> str:
        """The readings with t_ms counted from t0_ns (the SUT's first issue: sut_timings.csv's clock)."""
        keys = ["t_ms", "cpu_busy_pct", "cpu_steal_pct", "load1"] + [
            f"gpu{g}_{k}" for g in self.gpus for k in ("sm_mhz", "power_w", "temp_c", "util_pct", "held")]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for r in self.rows:
            writer.writerow({**r, "t_ms": round((r["t_ns"] - t0_ns) / 1e6, 1)})
        return buf.getvalue()


def describe(d: dict[str, Any]) -> str:
    """One line from MachineStats.to_dict() (also as summary.json keeps it)."""
    if not d.get("samples"):
        return "not read (the test ended within a second)"
    parts = []
    busy, steal = d.get("cpu_busy_pct"), d.get("cpu_steal_pct") or {"mean": 0.0, "max": 0.0}
    if busy:
        load = f", load up to {d['load1_max']:g}" if d.get("load1_max") is not None else ""
        parts.append(f"host CPUs {busy['mean']:.0f}% busy (max {busy['max']:.0f}%), steal {steal['mean']:.1f}% "
                     f"(max {steal['max']:.1f}%){load}")
    for g, v in (d.get("gpus") or {}).items():
        clock = v.get("sm_mhz")
        if not clock:
            parts.append(f"GPU {g}: no readings")
            continue
        held = ", ".join(f"{name} {sec:.0f} s" for name, sec in (v.get("held_back_s") or {}).items())
        parts.append(f"GPU {g} SM clock {clock['median']:.0f} MHz (min {clock['min']:.0f}), "
                     f"up to {v['power_w_max']:g} W "
                     f"and {v['temp_c_max']} C, busy {v['util_pct_mean']:.0f}%, clock held back: {held or 'never'}")
    if d.get("no_gpu"):
        parts.append(f"no GPU figures ({d['no_gpu']})")
    return "; ".join(parts)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _spread(values: list[float]) -> dict[str, float] | None:
    return {"mean": round(sum(values) / len(values), 2), "max": round(max(values), 2)} if values else None


class MachineWatch:
    """Context manager: reads the machine every `interval_s` in a daemon thread while it is open."""

    def __init__(self, interval_s: float = INTERVAL_S, gpu: GpuReader | None = None,
                 cpu_times: Callable[[], tuple[int, int, int] | None] = _cpu_times,
                 load1: Callable[[], float | None] = _load1) -> None:
        self.interval_s = interval_s
        self._gpu, self._cpu_times, self._load1 = gpu, cpu_times, load1
        self.stats = MachineStats(interval_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MachineStats:
        if self._gpu is None:
            self._gpu = GpuReader()
        self.stats.gpus = [label for label, _ in self._gpu.handles]
        self.stats.no_gpu = self._gpu.why
        self._thread = threading.Thread(target=self._loop, name="machine-watch", daemon=True)
        self._thread.start()
        return self.stats

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * self.interval_s)
        if self._gpu is not None:
            self._gpu.close()

    def _loop(self) -> None:
        last = self._cpu_times()
        while not self._stop.wait(self.interval_s):
            row: dict[str, Any] = {"t_ns": time.perf_counter_ns(), "load1": self._load1()}
            now = self._cpu_times()
            if last is not None and now is not None and now[2] > last[2]:
                total = now[2] - last[2]
                row["cpu_busy_pct"] = round(100 * (now[0] - last[0]) / total, 1)
                row["cpu_steal_pct"] = round(100 * (now[1] - last[1]) / total, 1)
            last = now
            if self._gpu is not None and self._gpu.ok:
                try:
                    row.update(self._gpu.read())
                except Exception as exc:  # an NVML error mid-test: stop reading the GPU, keep the host
                    log.warning("machine watch: GPU readings stopped (%s)", exc)
                    self.stats.no_gpu = f"NVML: {exc}"
                    self._gpu.handles = []
            self.stats.rows.append(row)

