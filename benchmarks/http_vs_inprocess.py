#!/usr/bin/env python3
"""The HTTP path (--backend openai against `vllm serve`) vs the in-process engine, same demo model
and settings: Offline tokens/s and Server p99 TTFT, each through run.py and LoadGen.

    python benchmarks/http_vs_inprocess.py [--samples 256] [--qps 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "run.py"), *args, "--results-dir", tmp], cwd=ROOT,
                       capture_output=True, text=True, check=False)
        summary = json.loads((Path(tmp) / "latest" / "summary.json").read_text())
    return summary["run"]["performance"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--qps", type=float, default=20)
    p.add_argument("--seconds", type=float, default=20)
    a = p.parse_args()
    from mlperf_vllm.demo import demo_model_dir

    model, port = str(demo_model_dir()), _port()
    server = subprocess.Popen([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
                               "--served-model-name", "demo", "--host", "127.0.0.1", "--port", str(port),
                               "--max-model-len", "2048", "--enforce-eager", "--disable-uvicorn-access-log"],
                              env=dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=1)
                break
            except OSError:
                time.sleep(1)
        common = ["--model", "demo", "--mode", "performance", "--total-sample-count", str(a.samples),
                  "--max-model-len", "2048"]
        offline = ["--scenario", "offline", "--min-duration", "0"]
        srv = ["--scenario", "server", "--server-target-qps", str(a.qps), "--min-duration", str(a.seconds)]
        http = ["--backend", "openai", "--endpoint", url]
        rows = [("Offline tokens/s", _run(common + offline)["tokens_per_sec"], _run(common + offline + http)["tokens_per_sec"]),
                ("Server p99 TTFT ms", _run(common + srv)["p99_ttft_ms"], _run(common + srv + http)["p99_ttft_ms"])]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print("| metric | in-process | HTTP (vllm serve) | HTTP / in-process |\n|---|---|---|---|")
    for name, inproc, remote in rows:
        print(f"| {name} | {inproc:,.2f} | {remote:,.2f} | {remote / inproc:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
