"""The Docker image, checked statically (no Docker engine here) against the README and requirements."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
README = (ROOT / "README.md").read_text()


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", text, re.M)
            if not m.group(0).lstrip().startswith("#")]


def test_base_image_is_the_official_vllm_image_pinned():
    froms = [arg for op, arg in _instructions() if op == "FROM"]
    assert len(froms) == 1 and re.fullmatch(r"vllm/vllm-openai:v\d+\.\d+\.\d+", froms[0]), froms


def test_every_requirement_is_installed():
    runs = " ".join(arg for op, arg in _instructions() if op == "RUN")
    copies = " ".join(arg for op, arg in _instructions() if op == "COPY")
    assert "pip install" in runs and "-r requirements-common.txt" in runs
    assert "requirements-common.txt" in copies
    # vLLM itself comes with the base image; everything else the project imports is in requirements-common.
    common = (ROOT / "requirements-common.txt").read_text()
    for pkg in ("mlcommons-loadgen", "rouge-score", "nltk", "numpy", "pandas", "matplotlib", "datasets"):
        assert pkg in common, pkg


def test_workdir_user_volume_and_entrypoint_fit_the_readme_commands():
    ops = dict((op, arg) for op, arg in _instructions())
    assert ops["WORKDIR"] == "/app"
    assert "USER" not in ops  # starts as root only to become the results folder's owner (the entrypoint)
    assert "/app/results" in ops["VOLUME"]
    # the entrypoint ends with `exec "$@"`, so that `docker run IMAGE python run.py ...` runs the tool
    assert ops["ENTRYPOINT"] == '["/app/scripts/docker-entrypoint.sh"]'
    assert (ROOT / "scripts" / "docker-entrypoint.sh").read_text().rstrip().endswith('exec "$@"')
    commands = re.findall(r"docker run [^\n]*", README.replace("\\\n", " "))
    assert len(commands) >= 2  # the English and the Korean guide
    for cmd in commands:
        assert "--env-file .env" in cmd and "-v $PWD/results:/app/results" in cmd
        assert re.search(r"python3? (run|mmlu)\.py", cmd), cmd


def test_dockerignore_keeps_secrets_and_outputs_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", "results", ".venv", ".git"):
        assert entry in ignored


def test_env_example_and_gitignore():
    example = (ROOT / ".env.example").read_text()
    assert "HF_TOKEN=" in example and "HUGGINGFACE_HUB_TOKEN=" in example and "gated" in example
    assert re.search(r"^HF_TOKEN=\s*$", example, re.M)  # no value shipped
    assert ".env" in (ROOT / ".gitignore").read_text().split()
