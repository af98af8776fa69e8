"""The package's shape: small modules, no import cycles, no layer importing a layer above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mlperf_vllm"
MAX_LINES = 400
# Lower layers never import higher ones (same rank: only within one package).
RANK = {
    "config": 0, "errors": 0, "rules": 0, "secrets": 0, "presets": 0, "checkpoint": 0, "progress": 0, "interrupts": 0,
    "logfile": 0, "rule_checks": 0,
    "__init__": 0,
    "results": 1, "engines": 1,
    "mlperf": 2, "mmlu": 2, "demo": 2, "diagnose": 2,
    "report": 3, "tune": 3,
    "orchestrate": 4,
    "cli": 5,
}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PKG.parent).with_suffix("").parts): p for p in PKG.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """Every mlperf_vllm module `name` imports, at top level or inside functions."""
    package = name.split(".")[:-1] if not name.endswith("__init__") else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("mlperf_vllm"):
                for alias in node.names:  # `from . import x` may name a module
                    found.add(f"{target}.{alias.name}")
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mlperf_vllm"))
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods) | {m.removesuffix(".__init__") for m in mods}
    graph = {}
    for name, path in mods.items():
        deps = {d for d in _imports(name, path) if d in known and d != name.removesuffix(".__init__")}
        graph[name.removesuffix(".__init__")] = {d for d in deps if d.count(".") >= 1}
    return graph


def _layer(module: str) -> tuple[int, str]:
    part = module.split(".")[1] if "." in module else "__init__"
    return RANK[part], part


def test_no_module_is_over_the_size_limit():
    big = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not big, big


def test_every_package_has_a_layer():
    assert {_layer(m)[1] for m in _graph()} <= set(RANK)


def test_no_layer_imports_a_layer_above_or_beside_it():
    wrong = []
    for module, deps in _graph().items():
        rank, part = _layer(module)
        for dep in deps:
            dep_rank, dep_part = _layer(dep)
            if dep_rank > rank or (dep_rank == rank and dep_part != part and rank > 0):
                wrong.append(f"{module} -> {dep}")
    assert not wrong, wrong


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


@pytest.mark.parametrize("script", ["run.py", "report.py", "mmlu.py", "util_logs.py"])
def test_entry_points_are_shims(script):
    text = (PKG.parent / script).read_text()
    assert len(text.splitlines()) <= 8 and "raise SystemExit(main())" in text
