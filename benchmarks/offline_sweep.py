#!/usr/bin/env python3
"""Offline engine-settings sweep: vLLM's own LLM.generate tokens/s for each set of engine arguments,
one fresh engine per set, spread over the visible GPUs (one set per GPU at a time).

    python benchmarks/offline_sweep.py --model configs/Llama-3.1-8B-Instruct --load-format dummy \\
        --precision fp8 --samples 3000 --gpus 0,1 \\
        --config '{"name": "base", "max_num_batched_tokens": 8192, "max_num_seqs": 512}' \\
        --config '{"name": "16k", "max_num_batched_tokens": 16384, "max_num_seqs": 512}'

Every set starts from the same settings run.py would use for --precision (prefix caching off, the
synthetic CNN/DailyMail length profile, greedy, 128 new tokens) and overrides only what it names.
The best set is then confirmed through LoadGen with run.py; this script only ranks candidates.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")


def worker(spec: dict) -> dict:
    """One engine, one timed generate over every prompt (after a short warm-up)."""
    from vllm import LLM, SamplingParams

    from mlperf_vllm.cli.run_args import PRECISIONS
    from mlperf_vllm.config import EngineConfig
    from mlperf_vllm.engines.vllm_common import cuda_device_count, engine_args_dict
    from mlperf_vllm.mlperf import dataset as ds

    cfg = json.loads((Path(spec["model"]) / "config.json").read_text())
    samples = ds.synthetic(spec["samples"], cfg["vocab_size"], cfg.get("bos_token_id"))
    dtype, quant, kv = PRECISIONS[spec["precision"]]
    ecfg = EngineConfig(model=spec["model"], dtype=dtype, quantization=quant, kv_cache_dtype=kv,
                        max_model_len=samples.max_prompt_tokens + spec["max_new_tokens"],
                        load_format=spec["load_format"], gpu_memory_utilization=spec["gpu_memory_utilization"])
    args = engine_args_dict(ecfg, on_gpu=cuda_device_count() > 0)
    args.update({k: v for k, v in spec["overrides"].items() if k != "name"})
    t0 = time.perf_counter()
    llm = LLM(**args)
    start_s = time.perf_counter() - t0
    params = SamplingParams(temperature=0.0, top_k=1, max_tokens=spec["max_new_tokens"],
                            min_tokens=spec["max_new_tokens"], detokenize=False)
    prompts = [{"prompt_token_ids": p} for p in samples.prompts]
    llm.generate(prompts[:64], params, use_tqdm=False)
    t0 = time.perf_counter()
    outs = llm.generate(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - t0
    tokens = sum(len(o.outputs[0].token_ids) for o in outs)
    return {"name": spec["overrides"].get("name"), "overrides": spec["overrides"], "tokens_per_s": tokens / seconds,
            "samples_per_s": len(outs) / seconds, "seconds": seconds, "engine_start_s": start_s,
            "samples": len(outs), "mean_prompt_tokens": sum(map(len, samples.prompts)) / len(samples.prompts)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model directory (config.json; weights unless --load-format dummy)")
    p.add_argument("--load-format", default="auto")
    p.add_argument("--precision", default="fp8", help="as run.py's --precision")
    p.add_argument("--samples", type=int, default=3000)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--gpu-memory-utilization", type=float, default=0.92)
    p.add_argument("--gpus", default="0", help="comma-separated GPU indices to run sets on in parallel")
    p.add_argument("--config", action="append", default=[], help="JSON object of vLLM engine args (+ optional name)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker is not None:
        print("RESULT=" + json.dumps(worker(json.loads(a.worker))), flush=True)
        return 0
    if not a.config:
        p.error("give at least one --config")
    todo: queue.Queue[dict] = queue.Queue()
    for text in a.config:
        todo.put(json.loads(text))
    results: list[dict] = []

    def run_on(gpu: str) -> None:
        while True:
            try:
                overrides = todo.get_nowait()
            except queue.Empty:
                return
            spec = {"model": a.model, "load_format": a.load_format, "precision": a.precision, "samples": a.samples,
                    "max_new_tokens": a.max_new_tokens, "gpu_memory_utilization": a.gpu_memory_utilization,
                    "overrides": overrides}
            env = dict(os.environ, CUDA_VISIBLE_DEVICES=gpu)
            proc = subprocess.run([sys.executable, __file__, "--model", a.model, "--worker", json.dumps(spec)],
                                  capture_output=True, text=True, env=env)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT=")), None)
            row = json.loads(line[len("RESULT="):]) if line else {
                "name": overrides.get("name"), "overrides": overrides, "error": proc.stderr[-1500:]}
            row["gpu"] = gpu
            results.append(row)
            print(json.dumps(row), flush=True)

    threads = [threading.Thread(target=run_on, args=(g.strip(),)) for g in a.gpus.split(",")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{'set':<24} {'tokens/s':>10} {'samples/s':>10} {'start s':>8}")
    for r in sorted(results, key=lambda r: -r.get("tokens_per_s", 0)):
        if "error" in r:
            print(f"{r['name'] or '?':<24} failed: {r['error'].strip().splitlines()[-1] if r['error'].strip() else ''}")
        else:
            print(f"{r['name'] or '?':<24} {r['tokens_per_s']:>10,.0f} {r['samples_per_s']:>10.2f} "
                  f"{r['engine_start_s']:>8.0f}")
    if a.out is not None:
        a.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
