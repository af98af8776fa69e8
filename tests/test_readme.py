"""The README stays true: its flags exist, every flag is documented, its commands are the ones used."""

from __future__ import annotations

import re
from pathlib import Path

from mlperf_vllm.cli import mmlu_main, report_main, run_args, util_logs_main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _flags(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"}


def _readme_flags(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text))


def test_every_flag_in_help_is_documented():
    documented = _readme_flags(README)
    for parser in (run_args.build_parser(), report_main.build_parser(), util_logs_main.build_parser(),
                   mmlu_main.build_parser()):
        missing = _flags(parser) - documented
        assert not missing, f"flags not in README.md: {sorted(missing)}"


def test_every_flag_the_readme_mentions_exists():
    known = set()
    for parser in (run_args.build_parser(), report_main.build_parser(), util_logs_main.build_parser(),
                   mmlu_main.build_parser()):
        known |= _flags(parser)
    # flags of other programs in the README: docker, pip, and `vllm serve`
    foreign = {"--gpus", "--env-file", "--rm", "--user", "--extra-index-url", "--port", "--no-enable-prefix-caching"}
    unknown = _readme_flags(README) - known - foreign
    assert not unknown, f"README.md mentions flags no tool has: {sorted(unknown)}"


def test_the_korean_guide_documents_every_flag_too():
    korean = README[README.index("## 한국어 안내"):]
    for parser in (run_args.build_parser(), mmlu_main.build_parser()):
        missing = _flags(parser) - _readme_flags(korean)
        assert not missing, f"flags missing from the Korean guide: {sorted(missing)}"


def test_the_check_fails_for_an_undocumented_flag():
    parser = run_args.build_parser()
    parser.add_argument("--brand-new-flag")
    assert "--brand-new-flag" in _flags(parser) - _readme_flags(README)


def test_quickstart_commands_are_the_ones_ci_and_the_demo_use():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci and "```bash\nbash scripts/test.sh\n```" in README
    assert "```bash\nbash scripts/demo.sh\n```" in README
    assert (ROOT / "scripts" / "demo.sh").is_file() and "run.py --model demo" in (ROOT / "scripts" / "demo.sh").read_text()


def test_the_architecture_section_names_every_module_and_package():
    section = README[README.index("## Files and architecture"):README.index("## What each mode and scenario does")]
    pkg = ROOT / "mlperf_vllm"
    for sub in sorted(p for p in pkg.iterdir() if p.is_dir() and not p.name.startswith("__")):
        assert f"`{sub.name}/`" in section, sub.name
    for mod in ("benchmark.py", "plan.py", "search.py", "loadgen_tests.py", "preflight.py", "submission.py", "mmlu.py",
                "factory.py", "record.py", "store.py", "qps_search.py", "presets.py", "checkpoint.py"):
        assert f"`{mod}`" in section, mod
    for name in re.findall(r"`([a-z_]+\.py)`", section):  # every module it names exists
        assert list(pkg.rglob(name)) or (ROOT / name).is_file(), name

