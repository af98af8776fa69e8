"""Run a plan of run.py commands on several GPUs side by side, one queue per GPU, and pack the evidence.

    python benchmarks/gpu_campaign.py start PLAN.json --root DIR [--detach] [--warm-cache FILE.tar.gz ...]
    python benchmarks/gpu_campaign.py status --root DIR
    python benchmarks/gpu_campaign.py pack --root DIR --out FILE.tar.gz
    python benchmarks/gpu_campaign.py wait --root DIR --seconds 540 --out FILE.tar.gz
    python benchmarks/gpu_campaign.py pack-cache --out OUTDIR

A plan is {"common": [flags for every job], "queues": {"<gpu>": [{"name", "args", "after"?, "env"?}, ...]},
"history"?: [run folders of the project, e.g. under docs/gpu-evidence/]}: the history's runs are copied
into the results directory first (compressed timings unpacked), so that a search finds the full run of
the same engine whose timings say what its long probes miss.
Each job is `python run.py <common> <args> --results-dir DIR/results`, with CUDA_VISIBLE_DEVICES set to
its queue's GPU and the job's "env" (e.g. {"VLLM_USE_FLASHINFER_SAMPLER": "0"}) added to the
environment; all jobs share one results directory, so a Server search finds the Offline run of
another queue as its ceiling ("after": wait until that job has ended). `--detach` starts the campaign
in a new session and returns at once, so that it outlives the command that started it.
`pack` keeps what a reader needs to check a figure: every summary.json, LoadGen summary, user.conf,
config.json, environment.json (which CPU, GPU and driver: machines differ), run.log, the machine's readings
and the SUT's per-sample timings (not the large detail and accuracy logs), and each job's console output.
`wait` is one poll of a detached campaign from a device call: it returns when the campaign has finished
or after --seconds, prints the status and the newest search and test lines of each run.log, and packs
what there is so far into --out, so that every poll brings the evidence back (a machine given back
between calls takes the campaign with it).
`pack-cache` writes the compilation caches an engine start fills (vLLM's torch.compile cache,
FlashInfer's kernels, the CUDA driver's PTX JIT cache, Triton's and TorchInductor's caches) as one
.tar.gz each into OUTDIR; `start --warm-cache` unpacks them where they came from before the first job
(a tar of the folder itself, `tar -C ~/.cache -czf cache-vllm.tar.gz vllm`, is taken as its contents). On an H200 a second engine start
on the machine that had compiled took 57 s instead of 215 s (BENCHMARKS.md says how much of that a
carried cache keeps). A cache changes what is compiled, never how fast it runs; one of another vLLM
release or setting is not used.
"""

from __future__ import annotations

import argparse
import getpass
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEEP = {"summary.json", "mlperf_log_summary.txt", "user.conf", "config.json", "environment.json", "run.log", "report.md",
        "sut_timings.csv", "machine.csv"}


def _status_path(root: Path) -> Path:
    return root / "status.json"


def _write_status(root: Path, status: dict, lock: threading.Lock) -> None:
    with lock:
        tmp = _status_path(root).with_suffix(".tmp")
        tmp.write_text(json.dumps(status, indent=2))
        tmp.replace(_status_path(root))


def _run_queue(gpu: str, jobs: list[dict], common: list[str], root: Path, status: dict, lock: threading.Lock,
               done: dict[str, threading.Event]) -> None:
    for job in jobs:
        name = job["name"]
        if job.get("after"):
            done[job["after"]].wait()
        cmd = [sys.executable, str(ROOT / "run.py"), *common, *job["args"], "--results-dir", str(root / "results")]
        env = {**os.environ, **job.get("env", {}), "CUDA_VISIBLE_DEVICES": gpu, "PYTHONUNBUFFERED": "1"}
        t0 = time.time()
        status[name] = {"gpu": gpu, "cmd": cmd[1:], "started": t0, "rc": None}
        _write_status(root, status, lock)
        with (root / "logs" / f"{name}.log").open("w") as out:
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
        status[name].update(rc=rc, seconds=round(time.time() - t0, 1))
        _write_status(root, status, lock)
        done[name].set()


def seed_history(runs: list[str], results: Path) -> None:
    """Copy earlier run folders into the campaign's results directory, *.csv.gz unpacked."""
    for name in runs:
        src = ROOT / name
        dst = results / src.name
        if not (src / "summary.json").is_file():
            raise SystemExit(f"history: {src} is not a run folder (no summary.json)")
        if dst.exists():
            continue
        shutil.copytree(src, dst)
        for gz in dst.rglob("*.csv.gz"):
            gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
            gz.unlink()


def cache_dirs() -> dict[str, Path]:
    """Where an engine start compiles into: vLLM's torch.compile cache, FlashInfer's kernels, CUDA's PTX JIT,
    Triton's kernels and TorchInductor's own cache (each where its environment variable puts it)."""
    env = os.environ.get
    home = Path(env("XDG_CACHE_HOME") or Path.home() / ".cache")
    return {"vllm": Path(env("VLLM_CACHE_ROOT") or home / "vllm"),
            "flashinfer": home / "flashinfer",
            "cuda": Path(env("CUDA_CACHE_PATH") or Path.home() / ".nv" / "ComputeCache"),
            "triton": Path(env("TRITON_CACHE_DIR") or Path.home() / ".triton" / "cache"),
            "inductor": Path(env("TORCHINDUCTOR_CACHE_DIR")
                             or Path(tempfile.gettempdir()) / f"torchinductor_{getpass.getuser()}")}


def pack_cache(out_dir: Path) -> None:
    """One cache-NAME.tar.gz per cache folder that exists, for the next machine's `start --warm-cache`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, src in cache_dirs().items():
        if not src.is_dir():
            print(f"{name}: none ({src})")
            continue
        out = out_dir / f"cache-{name}.tar.gz"
        with tarfile.open(out, "w:gz") as tar:
            tar.add(src, arcname=".")
        print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB")


def _inside_folder(members: list[tarfile.TarInfo], name: str) -> list[tarfile.TarInfo]:
    """The members as the cache folder's contents: a tar of the folder itself (every member under
    `name/`, as `tar -C ~/.cache -czf cache-vllm.tar.gz vllm` writes) loses that first component, or it
    would land one level too deep, where the engine never looks."""
    parts = [m.name.removeprefix("./").split("/", 1) for m in members]
    if not all(p[0] in (name, "") for p in parts) or not any(p[0] == name for p in parts):
        return members
    kept = []
    for m, p in zip(members, parts):
        if len(p) == 2 and p[1]:
            m.name = p[1]
            if m.islnk():  # a hard link names its target by its path in the tar
                m.linkname = m.linkname.removeprefix("./").removeprefix(f"{name}/")
            kept.append(m)
    return kept


def warm_cache(files: list[Path]) -> None:
    """Unpack `pack-cache` files where they came from (a bad file stops here, before anything starts)."""
    dirs = cache_dirs()
    for path in files:
        name = path.name.removeprefix("cache-").removesuffix(".tar.gz")
        if not path.is_file():
            raise SystemExit(f"--warm-cache: {path} is not a file")
        if name not in dirs:
            raise SystemExit(f"--warm-cache: {path.name} is not a pack-cache file (cache-{{{','.join(dirs)}}}.tar.gz)")
        try:
            dirs[name].mkdir(parents=True, exist_ok=True)
            with tarfile.open(path, "r:gz") as tar:
                members = _inside_folder(tar.getmembers(), name)
                tar.extractall(dirs[name], members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise SystemExit(f"--warm-cache: {path}: not a cache written by pack-cache ({exc})") from None
        print(f"warm cache: {path.name} unpacked into {dirs[name]}")


def start(plan_path: Path, root: Path) -> None:
    plan = json.loads(plan_path.read_text())
    for jobs in plan["queues"].values():
        for job in jobs:
            env = job.get("env", {})
            if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
                raise SystemExit(f"plan: job {job.get('name')!r}: \"env\" must map names to strings, e.g. "
                                 '{"VLLM_USE_FLASHINFER_SAMPLER": "0"}')
    (root / "logs").mkdir(parents=True, exist_ok=True)
    seed_history(plan.get("history", []), root / "results")
    (root / "plan.json").write_text(json.dumps(plan, indent=2))
    status: dict = {}
    lock = threading.Lock()
    done = {job["name"]: threading.Event() for jobs in plan["queues"].values() for job in jobs}
    threads = [threading.Thread(target=_run_queue, args=(gpu, jobs, plan.get("common", []), root, status, lock, done))
               for gpu, jobs in plan["queues"].items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (root / "finished").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def show(root: Path) -> None:
    status = json.loads(_status_path(root).read_text()) if _status_path(root).is_file() else {}
    now = time.time()
    for name, s in status.items():
        state = f"rc {s['rc']} in {s.get('seconds')} s" if s["rc"] is not None else f"running {now - s['started']:.0f} s"
        print(f"{name} (GPU {s['gpu']}): {state}")
    for log in sorted((root / "logs").glob("*.log")):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
        print(f"--- {log.name}: " + " | ".join(lines[-4:]))
    print("finished" if (root / "finished").exists() else "not finished")


def pack(root: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz") as tar:
        for path in sorted(root.rglob("*")):
            if path.is_file() and (path.name in KEEP or path.suffix == ".log" or path.name in ("status.json", "plan.json")):
                tar.add(path, arcname=str(path.relative_to(root)))


WAIT_LINES = ("probe ", "settle", "confirmation", "test done", "garbage collection", "run failed", "interrupted",
              "ready in", "test issues", "mlperf_vllm.progress", "machine during the test")
SCHEDULE = re.compile(r"^(\S+ \S+?)(?:,\d+)? .*the performance test issues .*about ([\d,]+) s at ")


def schedule_end(lines: list[str]) -> str | None:
    """When the newest LoadGen test of a run.log should end: its start plus its schedule (harness.schedule),
    unless a later line says it is done."""
    for i in range(len(lines) - 1, -1, -1):
        m = SCHEDULE.match(lines[i])
        if m is None:
            continue
        if any("garbage collection during the test" in ln for ln in lines[i + 1:]):  # every test's last line
            return None
        start = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
        end = start + float(m.group(2).replace(",", ""))
        return f"the running test's schedule ends about {time.strftime('%H:%M:%S', time.localtime(end))} " \
               f"(in {end - time.time():.0f} s; then the engine finishes what is in flight)"
    return None


def wait(root: Path, seconds: float, out: Path | None) -> None:
    end = time.time() + seconds
    while not (root / "finished").exists() and time.time() < end:
        time.sleep(5)
    show(root)
    for log in sorted(root.glob("results/*/run.log")):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if any(k in ln for k in WAIT_LINES)]
        print(f"--- {log.parent.name}: {len(lines)} lines")
        for ln in lines[-8:]:
            print(ln[:320])
        end = schedule_end(lines)
        if end:
            print(end)
    if out is not None:
        pack(root, out)
        print(f"packed {out}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["start", "status", "pack", "wait", "pack-cache"])
    p.add_argument("plan", nargs="?", type=Path)
    p.add_argument("--root", type=Path, help="the campaign's folder (every action but pack-cache)")
    p.add_argument("--out", type=Path)
    p.add_argument("--detach", action="store_true")
    p.add_argument("--seconds", type=float, default=540.0, help="wait: the longest to wait")
    p.add_argument("--warm-cache", type=Path, action="append", default=[],
                   help="start: a pack-cache file to unpack into ~/.cache first (repeatable)")
    a = p.parse_args()
    if a.root is None and a.action != "pack-cache":
        raise SystemExit(f"{a.action} needs --root DIR")
    if a.action == "start":
        if a.plan is None or not a.plan.is_file():
            raise SystemExit(f"start needs a plan file; {a.plan} is not one")
        # the history first, in the foreground: a bad path stops here, not in the detached campaign's log
        seed_history(json.loads(a.plan.read_text()).get("history", []), a.root / "results")
        warm_cache(a.warm_cache)
        if a.detach:
            a.root.mkdir(parents=True, exist_ok=True)
            with (a.root / "campaign.log").open("w") as log:
                subprocess.Popen([sys.executable, __file__, "start", str(a.plan), "--root", str(a.root)],
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
            print(f"started in the background: {a.root}")
            return 0
        start(a.plan, a.root)
    elif a.action == "status":
        show(a.root)
    elif a.action == "wait":
        wait(a.root, a.seconds, a.out)
    elif a.action == "pack-cache":
        if a.out is None:
            raise SystemExit("pack-cache needs --out DIR")
        pack_cache(a.out)
    else:
        pack(a.root, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
