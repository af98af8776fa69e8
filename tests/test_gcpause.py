"""The garbage collector during a LoadGen test: its pauses are counted, and --gc-freeze freezes the heap."""

from __future__ import annotations

import gc
import json
import logging

import pytest

from mlperf_vllm.cli import run_args
from mlperf_vllm.config import Mode
from mlperf_vllm.engines.fake import InstantEngine
from mlperf_vllm.mlperf.gcpause import GcWatch

from .conftest import only_run_dir, run_python


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_watch_counts_collections_and_leaves_the_collector_as_it_found_it():
    callbacks = list(gc.callbacks)
    with GcWatch(freeze=False) as stats:
        assert gc.get_freeze_count() == 0
        for _ in range(3):
            gc.collect()
    assert stats.collections[2] >= 3 and stats.total_ms > 0 and stats.longest_ms > 0
    assert stats.total_ms >= stats.longest_ms
    assert gc.callbacks == callbacks
    assert "gen2 " in stats.line() and "frozen" not in stats.line()


def test_freeze_moves_the_heap_out_of_the_collectors_sight_for_the_test_only():
    garbage = [Cycle() for _ in range(1000)]
    del garbage
    with GcWatch(freeze=True) as stats:
        assert stats.frozen_objects > 0 and gc.get_freeze_count() > 0.9 * stats.frozen_objects
        made = [Cycle() for _ in range(500)]
        # a full collection now scans only what the test made, not the frozen heap
        assert len(gc.get_objects(generation=2)) < stats.frozen_objects
        del made
        gc.collect()
    assert gc.get_freeze_count() == 0
    assert stats.to_dict()["frozen"] is True and stats.to_dict()["collections"]["gen2"] >= 1
    assert f"{stats.frozen_objects} objects frozen first" in stats.line()


def test_watch_closes_even_when_the_test_raises():
    callbacks = list(gc.callbacks)
    with pytest.raises(RuntimeError), GcWatch(freeze=True):
        raise RuntimeError("boom")
    assert gc.callbacks == callbacks and gc.get_freeze_count() == 0


def test_gc_freeze_flag_reaches_the_run_config():
    assert run_args.parse(["--model", "m"])[0].gc_freeze is False
    assert run_args.parse(["--model", "m", "--gc-freeze"])[0].gc_freeze is True
    assert run_args.parse(["--model", "m", "--gc-freeze", "0"])[0].gc_freeze is False


@pytest.mark.integration
def test_a_real_loadgen_test_reports_its_collections(tmp_path, caplog):
    from . import lg_helpers as h

    engine = InstantEngine(n_tokens=5)
    data = h.samples(40)
    sut = h.SystemUnderTest(engine, data, stream=False, max_new_tokens=128, lg=h.lg)
    caplog.set_level(logging.INFO, logger="mlperf_vllm.mlperf.harness")
    run = h.harness.run_test(h.settings("Offline", qps=1000, min_query_count=40), Mode.PERFORMANCE, sut,
                             len(data), tmp_path, h.lg, gc_freeze=True)
    assert run.gc is not None and run.gc.frozen and run.gc.frozen_objects > 0
    assert gc.get_freeze_count() == 0
    assert any("garbage collection during the test" in r.getMessage() for r in caplog.records)


@pytest.mark.integration
def test_summary_records_the_collectors_pauses_per_test(tmp_path, demo_model):
    results = tmp_path / "r"
    code = f"""
import sys
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import InstantEngine
sys.exit(main(["--model", "demo", "--mode", "performance", "--total-sample-count", "8", "--min-duration", "0",
               "--gc-freeze", "--results-dir", {str(results)!r}], engine_factory=lambda spec: InstantEngine(4)))
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr[-3000:]
    run_dir = only_run_dir(results)
    test = json.loads((run_dir / "summary.json").read_text())["tests"][0]
    assert test["gc"]["frozen"] is True and test["gc"]["frozen_objects"] > 0
    assert set(test["gc"]["collections"]) == {"gen0", "gen1", "gen2"}
    log = (run_dir / "run.log").read_text()
    assert "garbage collection during the test" in log
    assert "the performance test issues about 8 samples (1 pass over the samples, LoadGen's equal issue)" in log
    assert json.loads((run_dir / "config.json").read_text())["gc_freeze"] is True
