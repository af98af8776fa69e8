"""Bad input fails fast: one line, the right exit code, no traceback, nothing written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlperf_vllm.cli import report_main, run_main

from .conftest import run_tool

CASES = [
    (["--category", "edge", "--scenario", "server"], 2, "no server scenario"),
    (["--total-sample-count", "0"], 2, "at least 1"),
    (["--total-sample-count", "many"], 2, "whole number"),
    (["--dataset-path", "/nonexistent/cnn_eval.json", "--dataset", "cnn_dailymail"], 2, "does not exist"),
    (["--tensor-parallel-size", "4"], 2, "needs 4 GPUs"),
    (["--data-parallel-size", "two"], 2, "whole number"),
    (["--max-model-len", "64"], 2, "smaller than the longest prompt"),
    (["--dataset", "synthetic", "--mode", "both"], 2, "--mode performance"),
    (["--gpu-memory-utilization", "1.5"], 2, "(0, 1]"),
    (["--server-target-qps", "10"], 2, "server or interactive only"),
    (["--scenario", "server", "--server-target-qps", "-1"], 2, "positive"),
    (["--scenario", "server", "--server-target-qps", "fast"], 2, "a number, 'auto' or 'search'"),
    (["--scenario", "server", "--server-target-qps", "search", "--search-tolerance", "0.9"], 2, "--search-tolerance"),
    (["--scenario", "server", "--server-target-qps", "search", "--search-probe-duration", "0"], 2, "must be positive"),
    (["--engine-arg", "novalue"], 2, "KEY=VALUE"),
    (["--max-new-tokens", "1"], 2, "at least 2"),
    (["--min-duration", "-3"], 2, ">= 0"),
    (["--user-conf", "/nonexistent/user.conf"], 2, "does not exist"),
    (["--accuracy-log", "x.json"], 2, "--mode accuracy"),
    (["--backend", "openai"], 2, "needs at least one --endpoint"),
    (["--scenario", "interactive"], 2, "needs --server-target-qps"),
    (["--endpoint", "http://127.0.0.1:1"], 2, "is for --backend openai"),
    (["--backend", "openai", "--endpoint", "ftp://host"], 2, "http(s) URL"),
    (["--scenario", "server", "--server-target-qps", "auto"], 2, "earlier completed Offline run"),
]


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def history(tmp_path) -> Path:
    """A results directory that already holds a finished run; bad input must leave it untouched."""
    results = tmp_path / "results"
    run = results / "20260101-000000-datacenter-offline"
    (run / "Performance").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"status": "completed", "config": {"category": "datacenter"}}))
    (run / "Performance" / "mlperf_log_summary.txt").write_text("Result is : VALID\n")
    (results / "index.md").write_text("# Run history\n")
    return results


@pytest.mark.parametrize("args,code,message", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input(history, capsys, args, code, message):
    before = _tree(history)
    argv = ["--model", "demo", "--total-sample-count", "16", "--results-dir", str(history), *args]
    assert run_main.main(argv) == code
    err = capsys.readouterr().err.strip()
    assert message in err, err
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert _tree(history) == before  # no new run folder, earlier runs and the index untouched


@pytest.mark.parametrize("args,message", [
    (["/nonexistent/run"], "is not a run folder"),
    (["--compare", "/nonexistent/a", "/nonexistent/b"], "is not a run folder"),
    (["--rebuild-index", "--results-dir", "/nonexistent/results"], "does not exist"),
    ([], "give a run folder"),
])
def test_report_bad_input(history, capsys, args, message):
    before = _tree(history)
    assert report_main.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert _tree(history) == before


def test_report_on_a_folder_without_summary(history, capsys, tmp_path):
    (tmp_path / "half").mkdir()
    assert report_main.main([str(tmp_path / "half")]) == 2
    assert "no summary.json" in capsys.readouterr().err


def test_dataset_not_in_official_format(tmp_path, capsys):
    bad = tmp_path / "cnn_eval.json"
    bad.write_text(json.dumps([{"article": "x", "highlights": "y"}]))
    argv = ["--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(bad),
            "--results-dir", str(tmp_path / "r")]
    assert run_main.main(argv) == 2
    err = capsys.readouterr().err
    assert "official cnn_eval.json format" in err and not (tmp_path / "r").exists()
    bad.write_text("{not json")
    assert run_main.main(argv) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_dataset_path_that_is_a_directory(tmp_path, capsys):
    argv = ["--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(tmp_path),
            "--results-dir", str(tmp_path / "r")]
    assert run_main.main(argv) == 2
    assert "is a directory" in capsys.readouterr().err


def test_real_model_without_gpu_or_token(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    code = run_main.main(["--model", "meta-llama/Llama-3.1-8B-Instruct", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "set HF_TOKEN" in err and "--model demo" in err


def test_local_model_dir_on_a_cpu_machine_is_refused(tmp_path, capsys):
    cfg_dir = Path(__file__).resolve().parents[1] / "configs" / "Llama-3.1-8B-Instruct"
    code = run_main.main(["--model", str(cfg_dir), "--load-format", "dummy", "--dataset", "synthetic",
                          "--mode", "performance", "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "no CUDA GPU found" in err and "--model demo" in err


def test_rescoring_bad_input(tmp_path, capsys, demo_data):
    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text('[{"seq_id": 0, "qsl_idx": 0, "data": "0100')  # cut short
    base = ["--mode", "accuracy", "--model", "demo", "--dataset", "cnn_dailymail", "--dataset-path", str(demo_data)]
    assert run_main.main([*base, "--accuracy-log", str(log)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and "entry 0" in err and len(err.strip().splitlines()) == 1
    log.write_text('[{"seq_id": 0, "qsl_idx": 999, "data": "01000000"}]')
    assert run_main.main([*base, "--accuracy-log", str(log)]) == 2
    assert "qsl_idx 999, outside the data set" in capsys.readouterr().err
    no_tok = tmp_path / "model"
    no_tok.mkdir()
    (no_tok / "config.json").write_text("{}")
    argv = ["--mode", "accuracy", "--model", str(no_tok), "--dataset", "cnn_dailymail", "--dataset-path",
            str(demo_data), "--accuracy-log", str(log)]
    assert run_main.main(argv) == 2
    assert "no tokenizer files" in capsys.readouterr().err
    bad_tok = tmp_path / "badtok"
    bad_tok.mkdir()
    (bad_tok / "config.json").write_text("{}")
    (bad_tok / "tokenizer.json").write_text("not a tokenizer")
    argv[3] = str(bad_tok)
    assert run_main.main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot load the tokenizer" in err and "Traceback" not in err


def test_help_lists_every_seed_flag_with_a_description():
    r = run_tool("run.py", "--help")
    assert r.returncode == 0
    for flag in ("--version", "--model", "--backend", "--category", "--scenario", "--mode", "--precision",
                 "--tensor-parallel-size", "--max-new-tokens", "--total-sample-count", "--server-target-qps",
                 "--dataset", "--results-dir", "--keep-all", "--high-accuracy", "--max-model-len",
                 "--gpu-memory-utilization", "--extra-metrics"):
        assert flag in r.stdout, flag


def test_parallelism_on_gpus_is_checked_before_the_engine(monkeypatch):
    from mlperf_vllm.cli import run_args
    from mlperf_vllm.config import Device
    from mlperf_vllm.errors import UsageError
    from mlperf_vllm.orchestrate import preflight

    monkeypatch.setattr(preflight, "cuda_device_count", lambda: 2)
    model = preflight.ResolvedModel("m", None, {"hidden_size": 4096, "num_hidden_layers": 32,
                                                "vocab_size": 128256, "intermediate_size": 14336}, False)

    def cfg(*flags):
        return run_args.parse(["--model", "m", *flags])[0]

    monkeypatch.setattr(preflight, "_gpu_memory_gib", lambda: 140.0)

    def par(*flags, m=model):
        p = preflight.resolve_parallelism(cfg(*flags), m, Device.CUDA)
        return p.tensor_parallel_size, p.data_parallel_size, p.note

    assert par()[:2] == (1, 1)
    assert par("--tensor-parallel-size", "2") == (2, 1, "2 of 2 GPUs")
    assert par("--data-parallel-size", "2") == (1, 2, "2 of 2 GPUs")
    # auto: an 8B model fits one GPU, so one replica per GPU
    assert par("--tensor-parallel-size", "auto", "--data-parallel-size", "auto") == \
        (1, 2, "TP auto: 1 (16 GiB of weights, 140 GiB per GPU); DP auto: 2 (2 GPUs / TP 1); 2 of 2 GPUs")
    # a 70B-shaped model in bf16 (~131 GiB) does not fit 80% of one GPU: TP 2, one replica
    big = preflight.ResolvedModel("m", None, {"hidden_size": 8192, "num_hidden_layers": 80,
                                              "vocab_size": 128256, "intermediate_size": 28672}, False)
    assert par("--tensor-parallel-size", "auto", "--data-parallel-size", "auto", m=big)[:2] == (2, 1)
    with pytest.raises(UsageError, match="needs 4 GPUs, but 2 are visible"):
        par("--tensor-parallel-size", "4")
    with pytest.raises(UsageError, match="--data-parallel-size 3 needs 3 GPUs, but 2 are visible"):
        par("--data-parallel-size", "3")
    # on a CPU, vLLM runs data-parallel replicas (sharing the cores) but no tensor parallelism
    cpu = preflight.resolve_parallelism(cfg("--data-parallel-size", "2"), model, Device.CPU)
    assert (cpu.tensor_parallel_size, cpu.data_parallel_size) == (1, 2)
    with pytest.raises(UsageError, match="CPU run"):
        preflight.resolve_parallelism(cfg("--tensor-parallel-size", "2"), model, Device.CPU)


def test_preset_fills_only_what_was_not_given():
    from mlperf_vllm.cli import run_args

    cfg = run_args.parse(["--model", "m", "--preset", "h200-fp8"])[0]
    e = cfg.engine
    assert (e.quantization, e.kv_cache_dtype, e.max_num_batched_tokens, e.max_num_seqs, e.gpu_memory_utilization) == \
        ("fp8", "fp8", 8192, 512, 0.92)
    e = run_args.parse(["--model", "m", "--preset", "h200-fp8", "--max-num-seqs", "256", "--precision", "bf16"])[0].engine
    assert e.max_num_seqs == 256 and e.max_num_batched_tokens == 8192
    assert e.quantization is None and e.dtype == "bfloat16"  # --precision bf16 was given: it wins


def test_the_h200_preset_sizes_offline_for_mlperfs_duration():
    from mlperf_vllm import rules
    from mlperf_vllm.cli import run_args
    from mlperf_vllm.config import QpsPolicy, Scenario

    cfg = run_args.parse(["--model", "m", "--preset", "h200-fp8", "--scenario", "offline"])[0]
    assert (cfg.target_qps, cfg.qps_policy) == (60.0, QpsPolicy.FIXED)
    # 1.1 x 600 s x 60/s, padded to whole passes (equal issue): 3 passes, ~650 s at the H200's 61.7 samples/s
    samples = rules.performance_queries(Scenario.OFFLINE, cfg.target_qps, 600_000, 13_368, 13_368, True)
    assert samples == 40_104 and 600 < samples / 61.7 < 660
    assert run_args.parse(["--model", "m", "--preset", "h200-fp8", "--offline-expected-qps", "50"])[0].target_qps == 50
    server = run_args.parse(["--model", "m", "--preset", "h200-fp8", "--scenario", "server", "--server-target-qps", "56"])
    assert server[0].target_qps == 56


def test_a_user_conf_keeps_its_own_offline_rate_under_a_preset(tmp_path):
    from mlperf_vllm.cli import run_args

    conf = tmp_path / "user.conf"
    conf.write_text("llama3_1-8b.Offline.target_qps = 62\n")
    cfg = run_args.parse(["--model", "m", "--preset", "h200-fp8", "--user-conf", str(conf)])[0]
    assert cfg.user_conf == conf and cfg.target_qps is None
    assert cfg.engine.max_num_batched_tokens == 8192  # the preset's engine settings still apply
