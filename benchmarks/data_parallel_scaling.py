#!/usr/bin/env python3
"""Data-parallel scaling through the whole tool: run.py Offline with --data-parallel-size 1, then N, on the
same settings; LoadGen's tokens/s of each and their ratio (goal for N = 2: >= 1.9).

    python benchmarks/data_parallel_scaling.py --dp 2 --log-dir OUT -- \\
        --model configs/Llama-3.1-8B-Instruct --load-format dummy --dataset synthetic --preset h200-fp8 \\
        --total-sample-count 6000 --min-duration 0

Everything after `--` goes to run.py as is (add --total-sample-count so that each replica gets a long
run: DP=N gets the same samples, so its run is N times shorter). --log-dir keeps each run's LoadGen
summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(dp: int, run_args: list[str], results: Path) -> dict:
    cmd = [sys.executable, str(ROOT / "run.py"), "--scenario", "offline", "--mode", "performance",
           "--data-parallel-size", str(dp), "--results-dir", str(results), *run_args]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    summary = json.loads((results / "latest" / "summary.json").read_text())
    perf = summary["run"]["performance"]
    return {"dp": dp, "exit_code": proc.returncode, "tokens_per_s": perf["tokens_per_sec"],
            "samples_per_s": perf["samples_per_sec"], "validity": perf["result_validity"],
            "engine_start_s": summary.get("engine_start_s"), "parallelism": summary["config"].get("parallelism"),
            "run_dir": str((results / "latest").resolve())}


def main() -> int:
    argv = sys.argv[1:]
    run_args = argv[argv.index("--") + 1:] if "--" in argv else []
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dp", type=int, default=2, help="replicas to compare with one")
    p.add_argument("--log-dir", type=Path, default=None, help="copy each run's mlperf_log_summary.txt here")
    p.add_argument("--results-dir", type=Path, default=None, help="run.py's --results-dir (default: a temp dir)")
    a = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    results = a.results_dir or Path(tempfile.mkdtemp(prefix="dp-scaling-"))
    rows = [run(1, run_args, results), run(a.dp, run_args, results)]
    for r in rows:
        if a.log_dir is not None:
            a.log_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(r["run_dir"]) / "Performance" / "mlperf_log_summary.txt",
                        a.log_dir / f"dp{r['dp']}-offline-mlperf_log_summary.txt")
        print(json.dumps(r))
    ratio = rows[1]["tokens_per_s"] / rows[0]["tokens_per_s"]
    print(f"DP={a.dp}: {rows[1]['tokens_per_s']:,.1f} tokens/s ({rows[1]['validity']}); DP=1: "
          f"{rows[0]['tokens_per_s']:,.1f} tokens/s ({rows[0]['validity']}); ratio {ratio:.3f}")
    return 0 if all(r["validity"] == "VALID" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
