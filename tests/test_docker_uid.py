"""The Docker image's entrypoint and file modes, shown without Docker: the entrypoint script run as root
(as the container starts) and the tools run as another uid (as the host user), with setpriv.

In the image Python is /usr/bin/python3; here the test's interpreter may live under root's private home
(pyenv), which another uid cannot reach. Processes acting as the host user therefore keep one
capability, CAP_DAC_READ_SEARCH (read and traverse anything), and nothing else: ownership and every
write permission are those of the host user, which is what these tests are about.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import ROOT

HOST_UID = HOST_GID = 1000  # the host user, not root
SETPRIV = shutil.which("setpriv") or "setpriv"
READ_ANYWHERE = ("--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search")
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root and setpriv to act as another uid")


@pytest.fixture
def host_dir():
    """A folder every uid can reach (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="mlperf-docker-", dir="/tmp"))
    d.chmod(0o755)
    (d / "home").mkdir(mode=0o777)
    (d / "home").chmod(0o1777)
    (d / "bin").mkdir()
    wrapper = d / "bin" / "setpriv"  # what the entrypoint calls: the real one, reading allowed (see above)
    wrapper.write_text(f"#!/bin/sh\nexec {SETPRIV} {' '.join(READ_ANYWHERE)} \"$@\"\n")
    wrapper.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _env(host_dir: Path, results: Path) -> dict[str, str]:
    from mlperf_vllm.demo import demo_dataset_path, demo_model_dir

    demo_model_dir(), demo_dataset_path(8)  # the demo cache exists before another uid reads it
    return dict(os.environ, HOME=str(host_dir / "home"), MLPERF_RESULTS_DIR=str(results),
                PYTHONDONTWRITEBYTECODE="1", PATH=f"{host_dir / 'bin'}:{os.environ['PATH']}")


def _run_py(results: Path) -> list[str]:
    return [sys.executable, str(ROOT / "run.py"), "--model", "demo", "--scenario", "offline", "--mode",
            "performance", "--total-sample-count", "8", "--min-duration", "0", "--max-new-tokens", "8",
            "--results-dir", str(results)]


def _as_host_user(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SETPRIV, "--reuid", str(HOST_UID), "--regid", str(HOST_GID), "--clear-groups",
                           *READ_ANYWHERE, "--", *cmd], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def _owners_and_modes(results: Path) -> set[tuple[int, int]]:
    return {(p.stat().st_uid, stat.S_IMODE(p.stat().st_mode)) for p in results.rglob("*") if not p.is_symlink()}


@needs_root
@pytest.mark.integration
def test_results_owned_by_the_host_user_are_written_as_that_user(host_dir):
    results = host_dir / "results"
    results.mkdir()
    os.chown(results, HOST_UID, HOST_GID)
    r = subprocess.run(["sh", str(ENTRYPOINT), *_run_py(results)], capture_output=True, text=True,
                       env=_env(host_dir, results), cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    run_dir = (results / "latest").resolve()
    assert (run_dir / "summary.json").is_file() and (run_dir / "Performance" / "mlperf_log_summary.txt").is_file()
    assert {uid for uid, _ in _owners_and_modes(results)} == {HOST_UID}  # every file is the host user's
    moved = results / "renamed"
    assert _as_host_user("mv", str(run_dir), str(moved)).returncode == 0
    assert _as_host_user("rm", "-rf", str(moved)).returncode == 0


@needs_root
@pytest.mark.integration
def test_a_missing_results_folder_is_created_and_left_usable_by_any_host_user(host_dir):
    results = host_dir / "results"  # as Docker creates a missing bind-mount source: root's
    r = subprocess.run(["sh", str(ENTRYPOINT), *_run_py(results)], capture_output=True, text=True,
                       env=_env(host_dir, results), cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    run_dir = (results / "latest").resolve()
    for path in [results, *run_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & (0o007 if path.is_dir() else 0o006) == (0o007 if path.is_dir() else 0o006), (path, oct(mode))
    assert _as_host_user("cat", str(run_dir / "summary.json")).returncode == 0
    assert _as_host_user("mv", str(run_dir), str(results / "renamed")).returncode == 0
    assert _as_host_user("rm", "-rf", str(results / "renamed"), str(results / "index.md")).returncode == 0


@needs_root
def test_a_results_folder_the_process_cannot_write_is_refused_with_its_uid_and_a_fix(host_dir):
    results = host_dir / "results"
    results.mkdir(mode=0o755)  # root's, as with `docker run --user ...` and a folder Docker created
    r = _as_host_user(*_run_py(results), env=_env(host_dir, results))
    assert r.returncode == 3
    err = r.stderr.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"uid {HOST_UID}" in err and "belongs to uid 0" in err and "chown" in err and "--user" in err
    assert list(results.iterdir()) == []


def test_files_written_follow_the_umask(tmp_path):
    from mlperf_vllm.results import atomic

    code = ("import os, sys; os.umask(int(sys.argv[2], 8)); from mlperf_vllm.results import atomic; "
            "atomic.write_text_atomic(__import__('pathlib').Path(sys.argv[1]), 'x')")
    for umask, mode in (("022", 0o644), ("002", 0o664), ("077", 0o600), ("000", 0o666)):
        path = tmp_path / f"f{umask}"
        subprocess.run([sys.executable, "-c", code, str(path), umask], check=True, cwd=ROOT)
        assert stat.S_IMODE(path.stat().st_mode) == mode, umask
    assert atomic  # the module under test


def test_dockerfile_readme_and_vllm_pin_agree():
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    base = re.search(r"^FROM vllm/vllm-openai:v(\d+\.\d+\.\d+)$", dockerfile, re.M).group(1)
    pinned = re.search(r"^vllm\s*(==|>=)\s*([\d.]+)\s*$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned and pinned.group(2) == base  # a venv gets the image's vLLM (or, with >=, a newer one)
    assert 'ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]' in dockerfile and "USER" not in dockerfile
    assert "chmod 1777 /app/.cache" in dockerfile
    for cmd in re.findall(r"docker run [^\n]*", readme.replace("\\\n", " ")):
        cmd = re.sub(r"\s+", " ", cmd)
        if "mlperf-llama31:clean" in cmd:  # the seed's command, flag for flag
            assert cmd.startswith("docker run --gpus all --rm --env-file .env -v $PWD/results:/app/results "
                                  "mlperf-llama31:clean python")
