"""The machine's readings during a test: /proc/stat for real, NVML through a stand-in with NVML's calls."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlperf_vllm.config import Mode
from mlperf_vllm.engines.fake import InstantEngine
from mlperf_vllm.mlperf import machine
from mlperf_vllm.mlperf.machine import GpuReader, MachineStats, MachineWatch, describe
from mlperf_vllm.report import markdown
from mlperf_vllm.results import timeline
from mlperf_vllm.results.folder import write_machine_csv

STAT = "cpu  {user} 0 {system} {idle} 0 0 0 {steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


class Nvml:
    """NVML's calls as nvidia-ml-py names them, over scripted readings (the real library needs a GPU)."""

    NVML_CLOCK_SM, NVML_TEMPERATURE_GPU = 1, 0

    def __init__(self, count: int = 2, reasons: int = 0, clock: int = 1980, fail_after: int | None = None):
        self.count, self.reasons, self.clock, self.fail_after, self.reads = count, reasons, clock, fail_after, 0
        self.shut = False

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shut = True

    def nvmlDeviceGetCount(self):
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i):
        return f"idx{i}"

    def nvmlDeviceGetHandleByUUID(self, uuid):
        return f"uuid:{uuid}"

    def nvmlDeviceGetPowerUsage(self, handle):
        return 612_345  # mW

    def nvmlDeviceGetTemperature(self, handle, kind):
        return 61

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=93)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle):
        return self.reasons

    def nvmlDeviceGetClockInfo(self, handle, kind):
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise RuntimeError("GPU is lost")
        return self.clock


def test_proc_stat_is_read_as_busy_steal_and_total_jiffies(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(STAT.format(user=70, system=20, idle=900, steal=10))
    assert machine._cpu_times(stat) == (90, 10, 1000)
    assert machine._cpu_times(tmp_path / "absent") is None
    (tmp_path / "odd").write_text("intr 1 2 3\n")
    assert machine._cpu_times(tmp_path / "odd") is None
    busy, steal, total = machine._cpu_times()  # this machine's own
    assert 0 <= busy <= total and 0 <= steal <= total


def test_the_host_is_read_every_interval_while_the_test_runs():
    with MachineWatch(interval_s=0.1, gpu=GpuReader(nvml=None)) as stats:
        deadline = time.monotonic() + 10
        while len(stats.rows) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(stats.rows) >= 4
    assert all(0 <= r["cpu_busy_pct"] <= 100 and 0 <= r["cpu_steal_pct"] <= 100 for r in stats.rows)
    assert stats.gpus == [] and stats.no_gpu == "no NVML (nvidia-ml-py)"
    line = stats.line()
    assert line.startswith("machine during the test: host CPUs ") and "no GPU figures (no NVML" in line


def test_gpu_readings_and_the_reasons_a_clock_was_held_back(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nvml = Nvml(count=2, reasons=0x4 | 0x40 | 0x1)  # power cap + hardware thermal; idle is not a slowdown
    reader = GpuReader(nvml)
    assert reader.ok and [label for label, _ in reader.handles] == ["0", "1"]
    row = reader.read()
    assert row["gpu0_sm_mhz"] == 1980 and row["gpu1_power_w"] == 612.3 and row["gpu0_temp_c"] == 61
    assert row["gpu0_util_pct"] == 93 and row["gpu1_held"] == "power cap+thermal (hardware)"
    reader.close()
    assert nvml.shut


@pytest.mark.parametrize("visible, labels, handles", [
    ("3", ["0"], ["idx3"]),
    ("2,0", ["0", "1"], ["idx2", "idx0"]),
    ("GPU-8f2c", ["0"], ["uuid:GPU-8f2c"]),
    ("", [], []),
])
def test_the_gpus_read_are_the_ones_cuda_numbers(monkeypatch, visible, labels, handles):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    reader = GpuReader(Nvml(count=4))
    assert [label for label, _ in reader.handles] == labels and [h for _, h in reader.handles] == handles
    assert reader.ok == bool(labels) and (reader.why == "" if labels else reader.why == "no GPU visible")


def test_a_gpu_nvml_cannot_name_gives_no_figures_rather_than_wrong_ones(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-1c2d")
    nvml = Nvml()
    reader = GpuReader(nvml)
    assert not reader.ok and "MIG-1c2d" in reader.why
    reader.close()
    assert nvml.shut  # NVML was initialised, so it is shut down even with nothing read


def test_an_nvml_error_mid_test_stops_the_gpu_readings_and_keeps_the_host(monkeypatch, caplog):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    caplog.set_level(logging.WARNING, logger="mlperf_vllm.mlperf.machine")
    with MachineWatch(interval_s=0.05, gpu=GpuReader(Nvml(count=1, fail_after=2))) as stats:
        deadline = time.monotonic() + 10
        while len(stats.rows) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [("gpu0_sm_mhz" in r) for r in stats.rows[:3]] == [True, True, False]
    assert all("cpu_busy_pct" in r for r in stats.rows[1:])
    assert stats.no_gpu == "NVML: GPU is lost" and "GPU readings stopped (GPU is lost)" in caplog.text


def _stats(held: list[str], clocks: list[int]) -> MachineStats:
    rows = [{"t_ns": 5_000_000_000 + i * 1_000_000_000, "cpu_busy_pct": min(100.0, 10.0 + i),
             "cpu_steal_pct": float(i % 2),
             "load1": 1.5, "gpu0_sm_mhz": c, "gpu0_power_w": 600.0 + i, "gpu0_temp_c": 60 + i,
             "gpu0_util_pct": 90, "gpu0_held": h} for i, (h, c) in enumerate(zip(held, clocks))]
    return MachineStats(1.0, rows, ["0"])


def test_summary_line_and_csv_of_the_readings(tmp_path):
    stats = _stats(["", "power cap", "power cap+thermal (hardware)", ""], [1980, 1755, 1500, 1980])
    d = stats.to_dict()
    assert d["samples"] == 4 and d["cpu_busy_pct"] == {"mean": 11.5, "max": 13.0} and d["load1_max"] == 1.5
    gpu = d["gpus"]["0"]
    assert gpu["sm_mhz"] == {"min": 1500, "median": 1867.5, "max": 1980} and gpu["power_w_max"] == 603.0
    assert gpu["held_back_s"] == {"power cap": 2.0, "thermal (hardware)": 1.0} and gpu["temp_c_max"] == 63
    assert describe(d) == stats.line().removeprefix("machine during the test: ")
    assert "GPU 0 SM clock 1868 MHz (min 1500), up to 603 W and 63 C, busy 90%, clock held back: power cap 2 s, " \
           "thermal (hardware) 1 s" in stats.line()
    write_machine_csv(tmp_path, stats, t0_ns=6_000_000_000)  # the SUT's first issue, a second after the first reading
    rows = timeline.read_machine(tmp_path / timeline.MACHINE_FILE)
    assert [r["t_ms"] for r in rows] == [-1000.0, 0.0, 1000.0, 2000.0]
    assert rows[1]["gpu0_held"] == "power cap" and rows[0]["gpu0_held"] is None and rows[2]["gpu0_sm_mhz"] == 1500
    write_machine_csv(tmp_path / "none", MachineStats(), t0_ns=0)  # no readings: no file
    assert not (tmp_path / "none").exists()
    assert describe(MachineStats().to_dict()).startswith("not read")


def test_the_report_shows_the_machine_minute_by_minute_beside_the_latencies(tmp_path):
    timings = [{"issued_ms": t * 100.0, "ttft_ms": 50.0, "tpot_ms": 20.0 + (t >= 600) * 10, "latency_ms": 2000.0}
               for t in range(1200)]
    held = ["power cap" if 70 <= s < 100 else "" for s in range(120)]
    stats = _stats(held, [1500 if h else 1980 for h in held])
    write_machine_csv(tmp_path, stats, t0_ns=5_000_000_000)
    through = timeline.analyse(timings, machine=timeline.read_machine(tmp_path / timeline.MACHINE_FILE))
    first, second = (w["machine"] for w in through["windows"])
    assert first == {"cpu_busy_max": 69.0, "steal_max": 1.0, "sm_mhz_min": 1980, "held_s": 0}
    assert second["sm_mhz_min"] == 1500 and second["held_s"] == 30
    text = "\n".join(markdown._through_the_run(through))
    assert "| host CPU max % | steal max % | SM clock min MHz | clock held back s |" in text
    assert "| 60 | 600 | 30.00 | 30.00 | 50.00 | 20 | 100 | 1.0 | 1,500 | 30 |" in text
    plain = "\n".join(markdown._through_the_run(timeline.analyse(timings)))  # no machine.csv: the old table
    assert "SM clock" not in plain and "| 60 | 600 | 30.00 | 30.00 | 50.00 | 20 |" in plain
    summary = {"tests": [{"log_dir": "Performance", "machine": stats.to_dict()}, {"log_dir": "Accuracy"}]}
    section = "\n".join(markdown._machine(summary))
    assert section.startswith("## The machine during the tests") and "- `Performance`: host CPUs" in section
    assert "Accuracy" not in section and markdown._machine({"tests": [{"log_dir": "x", "machine": None}]}) == []


@pytest.mark.integration
def test_a_real_loadgen_test_logs_the_machine_and_keeps_the_readings(tmp_path, caplog):
    from . import lg_helpers as h

    data = h.samples(40)
    sut = h.SystemUnderTest(InstantEngine(n_tokens=5), data, stream=True, max_new_tokens=128, lg=h.lg)
    caplog.set_level(logging.INFO, logger="mlperf_vllm.mlperf.harness")
    run = h.harness.run_test(h.settings("Server", qps=20, min_duration_ms=2500, min_query_count=40),
                             Mode.PERFORMANCE, sut, len(data), tmp_path, h.lg)
    assert run.machine is not None and len(run.machine.rows) >= 2 and run.first_issue_ns is not None
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("performance machine during the test: host CPUs") for m in lines)
    assert lines[-1].startswith("performance garbage collection during the test")  # still a test's last line
    write_machine_csv(tmp_path, run.machine, run.first_issue_ns)
    rows = timeline.read_machine(tmp_path / timeline.MACHINE_FILE)
    assert len(rows) == len(run.machine.rows) and rows[-1]["t_ms"] > 1000
    assert Path(tmp_path / "mlperf_log_summary.txt").is_file()
