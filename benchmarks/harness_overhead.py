#!/usr/bin/env python3
"""What the harness costs: Offline tokens/s through LoadGen + SUT vs vLLM's own LLM.generate on the
same prompts and the same engine, in one process; and the highest Server QPS the SUT sustains VALID
with an instant fake engine.

    python benchmarks/harness_overhead.py [--samples 256] [--max-new-tokens 128] [--skip-vllm]

Default: the demo model on the CPU. On a GPU pass --model and engine flags, e.g.
    python benchmarks/harness_overhead.py --model configs/Llama-3.1-8B-Instruct --load-format dummy \\
        --samples 2000 --precision fp8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")


def offline_overhead(args: argparse.Namespace) -> dict[str, float]:
    import mlperf_loadgen as lg
    from vllm import LLM, SamplingParams

    from mlperf_vllm.cli.run_args import PRECISIONS
    from mlperf_vllm.config import EngineConfig, Mode
    from mlperf_vllm.demo import demo_dataset_path, demo_model_dir
    from mlperf_vllm.engines.vllm_common import cuda_device_count, engine_args_dict
    from mlperf_vllm.engines.vllm_engine import VllmEngine
    from mlperf_vllm.mlperf import dataset as ds
    from mlperf_vllm.mlperf import harness, logs
    from mlperf_vllm.mlperf.sut import SystemUnderTest

    if args.model == "demo":
        model = str(demo_model_dir())
        samples = ds.load_official(demo_dataset_path(args.samples))
    else:
        import json
        model = args.model
        cfg = json.loads((Path(model) / "config.json").read_text())
        samples = ds.synthetic(args.samples, cfg["vocab_size"], cfg.get("bos_token_id"))
    from mlperf_vllm.cli.run_args import _engine_extra
    dtype, quant, kv = PRECISIONS[args.precision]
    ecfg = EngineConfig(model=model, dtype=dtype, quantization=quant, kv_cache_dtype=kv,
                        max_model_len=samples.max_prompt_tokens + args.max_new_tokens, load_format=args.load_format,
                        gpu_memory_utilization=args.gpu_memory_utilization, max_num_seqs=args.max_num_seqs,
                        max_num_batched_tokens=args.max_num_batched_tokens, extra=_engine_extra(args.engine_arg))
    if cuda_device_count() == 0:
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    llm = LLM(**engine_args_dict(ecfg, cuda_device_count() > 0))
    params = SamplingParams(temperature=0.0, top_k=1, max_tokens=args.max_new_tokens, min_tokens=1, detokenize=False)
    prompts = [{"prompt_token_ids": p} for p in samples.prompts]
    llm.generate(prompts[: min(32, len(prompts))], params, use_tqdm=False)  # warm-up

    def baseline() -> float:
        t0 = time.perf_counter()
        outs = llm.generate(prompts, params, use_tqdm=False)
        return sum(len(o.outputs[0].token_ids) for o in outs) / (time.perf_counter() - t0)

    engine = VllmEngine(ecfg, llm_engine=llm.llm_engine)  # the same engine object LLM.generate used
    rates_generate, rates_loadgen = [], []
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "user.conf"
        conf.write_text(harness.render_user_conf(harness.UserConfRequest(
            "llama3_1-8b", harness.Scenario.OFFLINE, len(samples), 13368, min_duration_ms=0)))
        settings = harness.make_settings("llama3_1-8b", harness.Scenario.OFFLINE, conf, lg)
        sut = SystemUnderTest(engine, samples, stream=False, max_new_tokens=args.max_new_tokens, lg=lg)
        for rep in range(args.repeats):
            rates_generate.append(baseline())
            out = Path(tmp) / f"run{rep}"
            harness.run_test(settings, Mode.PERFORMANCE, sut, len(samples), out, lg)
            rec = logs.read_log_dir(out)
            assert rec["num_errors"] == 0 and rec["valid"], rec["validity_checks"]
            rates_loadgen.append(rec["throughput"]["tokens_per_s"])
            if args.log_dir is not None:  # keep LoadGen's genuine logs of every repeat
                import shutil
                shutil.copytree(out, Path(args.log_dir) / f"loadgen-offline-{rep}", dirs_exist_ok=True)
    engine.shutdown()
    g = sum(rates_generate) / len(rates_generate)
    l_ = sum(rates_loadgen) / len(rates_loadgen)
    return {"llm_generate_tokens_per_s": g, "loadgen_sut_tokens_per_s": l_, "ratio": l_ / g,
            "samples": len(samples), "repeats": args.repeats,
            "runs_generate": rates_generate, "runs_loadgen": rates_loadgen}


def server_ceiling(qps_list: list[float], seconds: float) -> list[dict[str, float]]:
    import mlperf_loadgen as lg

    from mlperf_vllm.config import Mode
    from mlperf_vllm.engines.fake import InstantEngine
    from mlperf_vllm.mlperf import dataset as ds
    from mlperf_vllm.mlperf import harness, logs
    from mlperf_vllm.mlperf.sut import SystemUnderTest

    samples = ds.synthetic(13368, 32000, 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for qps in qps_list:
            s = lg.TestSettings()
            s.scenario = lg.TestScenario.Server
            s.use_token_latencies = True
            s.ttft_latency, s.tpot_latency = 2_000_000_000, 100_000_000  # mlperf.conf llama3_1-8b.Server
            s.server_target_qps = qps
            s.min_duration_ms = int(seconds * 1000)
            s.min_query_count = 1
            s.sample_concatenate_permutation = False
            sut = SystemUnderTest(InstantEngine(n_tokens=8), samples, stream=True, max_new_tokens=128, lg=lg)
            out = Path(tmp) / f"q{qps:g}"
            harness.run_test(s, Mode.PERFORMANCE, sut, len(samples), out, lg)
            rec = logs.read_log_dir(out)
            t = rec["throughput"]
            rows.append({"target_qps": qps, "valid": bool(rec["valid"]) and rec["num_errors"] == 0,
                         "completed_qps": t["completed_samples_per_s"], "scheduled_qps": t["scheduled_samples_per_s"],
                         "p99_ttft_ms": rec["ttft_ns"]["99.00"] / 1e6})
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="demo")
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--precision", default="bf16")
    p.add_argument("--load-format", default="auto")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.90)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--max-num-seqs", type=int, default=None)
    p.add_argument("--max-num-batched-tokens", type=int, default=None)
    p.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--log-dir", default=None, help="copy LoadGen's logs of each repeat here")
    p.add_argument("--server-qps", default="5000,10000,20000,40000")
    p.add_argument("--server-seconds", type=float, default=5.0)
    p.add_argument("--skip-vllm", action="store_true", help="only the Server ceiling with the instant engine")
    a = p.parse_args()
    if a.server_qps in ("", "none"):
        a.server_qps = ""
    if not a.skip_vllm:
        r = offline_overhead(a)
        print("\nOffline harness overhead (same engine, same prompts, one process)")
        print(f"| samples | LLM.generate tokens/s | LoadGen + SUT tokens/s | ratio |\n|---|---|---|---|\n"
              f"| {r['samples']} | {r['llm_generate_tokens_per_s']:,.0f} | {r['loadgen_sut_tokens_per_s']:,.0f} | "
              f"{r['ratio']:.3f} |")
        print(f"(per repeat: generate {[round(x) for x in r['runs_generate']]}, "
              f"LoadGen {[round(x) for x in r['runs_loadgen']]})")
    if not a.server_qps:
        return 0
    rows = server_ceiling([float(q) for q in a.server_qps.split(",")], a.server_seconds)
    print("\nServer with an instant fake engine (LoadGen Server, 2 s / 100 ms limits)")
    print("| target QPS | completed QPS | scheduled QPS | p99 TTFT ms | VALID |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['target_qps']:,.0f} | {row['completed_qps']:,.0f} | {row['scheduled_qps']:,.0f} | "
              f"{row['p99_ttft_ms']:.2f} | {'yes' if row['valid'] else 'no'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
