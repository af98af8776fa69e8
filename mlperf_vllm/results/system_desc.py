"""systems/<system>.json of a submission, from what the runs recorded about their machine.

Every field the official checker requires is present (tools/submission/submission_checker/constants.py,
SYSTEM_DESC_REQUIRED_FIELDS). Fields a run cannot observe are marked with TODO_PREFIX for the submitter
to fill; `todo_fields` lists them so the tool can warn.
"""

from __future__ import annotations

from typing import Any

TODO_PREFIX = "TODO:"
REQUIRED_FIELDS = (
    "division", "submitter", "status", "system_name", "number_of_nodes", "host_processor_model_name",
    "host_processors_per_node", "host_processor_core_count", "host_memory_capacity", "host_storage_capacity",
    "host_storage_type", "accelerators_per_node", "accelerator_model_name", "accelerator_memory_capacity",
    "framework", "operating_system", "system_type", "other_software_stack", "host_processor_frequency",
    "host_processor_caches", "host_memory_configuration", "host_processor_interconnect", "host_networking",
    "host_networking_topology", "accelerator_frequency", "accelerator_host_interconnect",
    "accelerator_interconnect", "accelerator_interconnect_topology", "accelerator_memory_configuration",
    "accelerator_on-chip_memories", "cooling", "hw_notes", "sw_notes", "host_network_card_count",
    "system_type_detail",
)


def _todo(what: str) -> str:
    return f"{TODO_PREFIX} {what}"


def system_type(categories: set[str]) -> str:
    """The checker's system_type for the categories the submitted runs were made in."""
    return ",".join(c for c in ("datacenter", "edge") if c in categories) or "datacenter"


def describe(env: dict[str, Any], system: str, submitter: str, division: str, categories: set[str],
             harness: str) -> dict[str, Any]:
    """The system description; unknown values are TODO-marked strings (the checker needs them non-empty)."""
    gpu, sw, host = env.get("gpu") or {}, env.get("software") or {}, env.get("host") or {}
    device = (gpu.get("devices") or [{}])[0]
    n_gpu = int(gpu.get("count") or 0)
    no_gpu = "N/A (no accelerator)"
    return {
        "division": division, "submitter": submitter,
        "status": "available",  # commodity GPUs and open-source vLLM; change to preview or rdi if not
        "system_name": system, "system_type": system_type(categories), "number_of_nodes": 1,
        "host_processor_model_name": host.get("cpu") or _todo("CPU model"),
        "host_processors_per_node": host.get("sockets") or _todo("CPU sockets"),
        "host_processor_core_count": host.get("cpu_count") or _todo("cores per CPU"),
        "host_processor_frequency": f"{host['mhz']} MHz" if host.get("mhz") else _todo("CPU frequency"),
        "host_processor_caches": host.get("caches") or _todo("CPU caches"),
        "host_processor_interconnect": _todo("e.g. UPI / Infinity Fabric"),
        "host_memory_capacity": f"{host['memory_gib']} GiB" if host.get("memory_gib") else _todo("host memory"),
        "host_memory_configuration": _todo("DIMMs, e.g. 16x 64 GB DDR5-4800"),
        "host_storage_capacity": _todo("storage capacity"), "host_storage_type": _todo("e.g. NVMe SSD"),
        "host_networking": _todo("e.g. 2x 100 GbE"), "host_networking_topology": _todo("network topology"),
        "host_network_card_count": _todo("number of NICs"),
        # the checker counts 0 as "no answer" (it tests truthiness), so a CPU system states it as text
        "accelerators_per_node": n_gpu or "0",
        "accelerator_model_name": gpu.get("model") or no_gpu,
        "accelerator_memory_capacity": device.get("memory") or (no_gpu if not n_gpu else _todo("GPU memory")),
        "accelerator_frequency": (f"{device['max_sm_clock']} (max SM clock)" if device.get("max_sm_clock")
                                  else no_gpu if not n_gpu else _todo("GPU clock")),
        "accelerator_host_interconnect": device.get("pcie") or (no_gpu if not n_gpu else _todo("e.g. PCIe Gen5 x16")),
        "accelerator_interconnect": no_gpu if not n_gpu else _todo("e.g. NVLink 4 (18 links)"),
        "accelerator_interconnect_topology": no_gpu if not n_gpu else _todo("e.g. NVSwitch"),
        "accelerator_memory_configuration": no_gpu if not n_gpu else _todo("e.g. HBM3e"),
        "accelerator_on-chip_memories": no_gpu if not n_gpu else _todo("e.g. 50 MB L2"),
        "cooling": _todo("air or liquid"), "hw_notes": "",
        "framework": f"vLLM {sw.get('vllm')}, PyTorch {sw.get('torch')}" + (f", CUDA {env['cuda']}" if env.get("cuda")
                                                                            else ""),
        "operating_system": host.get("os") or _todo("operating system"),
        "other_software_stack": f"mlcommons-loadgen {sw.get('mlcommons_loadgen')}"
                                + (f", NVIDIA driver {gpu['driver']}" if gpu.get("driver") else ""),
        "sw_notes": f"MLPerf harness: {harness}",
        "system_type_detail": _todo("e.g. rack server"),
    }


def todo_fields(description: dict[str, Any]) -> list[str]:
    """The fields still to be filled by the submitter."""
    return [k for k, v in description.items() if isinstance(v, str) and v.startswith(TODO_PREFIX)]
