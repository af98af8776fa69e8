"""BENCHMARKS.md's claim lines are backed by the LoadGen summaries kept under docs/gpu-evidence/.

`Headline 1xH200 <Scenario>: N tokens/s` is the metric of a VALID run at MLPerf's duration (min_duration
>= 600 s), and a second such run of the same scenario at the same QPS lands within 2% of N.
`Search 1xH200 <Scenario>: confirmed Q QPS, highest VALID fixed F QPS` needs the search's VALID
confirmation at Q, a VALID fixed run at F, an INVALID fixed run above F within 5%, all at MLPerf's
duration, and Q >= 0.97 F. The checks read LoadGen's own summaries, nothing this tool wrote about them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlperf_vllm.mlperf.logs import SUMMARY_FILE, parse_summary

ROOT = Path(__file__).resolve().parents[1]
MLPERF_MIN_DURATION_MS = 600_000
REPEAT_WITHIN = 0.02
BRACKET_ABOVE = 0.05
SEARCH_SHARE = 0.97
INTERACTIVE_TTFT_NS = 500_000_000  # LoadGen calls Interactive Server; its TTFT limit tells them apart

HEADLINE = re.compile(r"^Headline 1xH200 (\w+): ([0-9.]+) tokens/s$", re.M)
SEARCH = re.compile(r"^Search 1xH200 (\w+): confirmed ([0-9.]+) QPS, highest VALID fixed ([0-9.]+) QPS$", re.M)


@dataclass(frozen=True)
class Summary:
    """What the claims need of one LoadGen summary."""

    path: Path
    scenario: str  # Offline, Server or Interactive
    valid: bool
    min_duration_ms: int
    target_qps: float | None
    tokens_per_s: str | None  # as LoadGen printed it

    @property
    def full_length(self) -> bool:
        return self.min_duration_ms >= MLPERF_MIN_DURATION_MS

    @property
    def confirmation(self) -> bool:
        """An attempt under Search/, or the one the search chose: run.py moves that to the run's
        Performance/, beside the run's Search/ folder."""
        folder = self.path.parent
        if "Search" in self.path.parts:
            return folder.name.startswith("confirm-")
        return folder.name == "Performance" and (folder.parent / "Search").is_dir()

    @property
    def fixed(self) -> bool:
        return "Search" not in self.path.parts and not self.confirmation


def read_summary(path: Path) -> Summary | None:
    v = parse_summary(path.read_text(errors="replace"))
    scenario, duration = v.get("Scenario"), v.get("min_duration (ms)")
    if scenario is None or duration is None or not duration.isdigit():
        return None
    if scenario == "Server" and v.get("ttft_latency (ns)") == str(INTERACTIVE_TTFT_NS):
        scenario = "Interactive"
    qps = v.get("target_qps")
    tokens = v.get("Completed tokens per second") or v.get("Tokens per second")
    return Summary(path, scenario, v.get("Result is") == "VALID", int(duration),
                   float(qps) if qps else None, tokens)


def summaries(folder: Path) -> list[Summary]:
    found = (read_summary(p) for p in sorted(folder.rglob("*summary.txt")))  # also h200-...-mlperf_log_summary.txt
    return [s for s in found if s is not None]


def headline_problems(text: str, kept: list[Summary]) -> list[str]:
    problems = []
    for scenario, value in HEADLINE.findall(text):
        full = [s for s in kept if s.scenario == scenario and s.valid and s.full_length and s.tokens_per_s]
        first = [s for s in full if s.tokens_per_s == value]
        if not first:
            problems.append(f"Headline {scenario} {value}: no VALID >= 600 s summary with that metric")
            continue
        n = float(value)
        repeats = [s for s in full if s.path != first[0].path and s.target_qps == first[0].target_qps
                   and abs(float(s.tokens_per_s) - n) <= REPEAT_WITHIN * n]
        if not repeats:
            problems.append(f"Headline {scenario} {value}: no second VALID >= 600 s run at "
                            f"{first[0].target_qps} QPS within {REPEAT_WITHIN:.0%}")
    if HEADLINE.sub("", text).count("Headline 1xH200"):
        problems.append("a 'Headline 1xH200' line not in the form 'Headline 1xH200 <Scenario>: N tokens/s'")
    return problems


def search_problems(text: str, kept: list[Summary]) -> list[str]:
    problems = []
    for scenario, q, f in SEARCH.findall(text):
        q, f = float(q), float(f)
        full = [s for s in kept if s.scenario == scenario and s.full_length]
        if not any(s.confirmation and s.valid and s.target_qps == q for s in full):
            problems.append(f"Search {scenario}: no VALID >= 600 s confirmation at {q:g} QPS")
        if not any(s.fixed and s.valid and s.target_qps == f for s in full):
            problems.append(f"Search {scenario}: no VALID >= 600 s fixed run at {f:g} QPS")
        if not any(s.fixed and not s.valid and s.target_qps and f < s.target_qps <= f * (1 + BRACKET_ABOVE)
                   for s in full):
            problems.append(f"Search {scenario}: no INVALID >= 600 s fixed run above {f:g} QPS within "
                            f"{BRACKET_ABOVE:.0%}")
        if q < SEARCH_SHARE * f:
            problems.append(f"Search {scenario}: {q:g} QPS is under {SEARCH_SHARE} x {f:g}")
    if SEARCH.sub("", text).count("Search 1xH200"):
        problems.append("a 'Search 1xH200' line not in the form "
                        "'Search 1xH200 <Scenario>: confirmed Q QPS, highest VALID fixed F QPS'")
    return problems


def test_benchmarks_claims_are_backed_by_kept_loadgen_summaries():
    text = (ROOT / "BENCHMARKS.md").read_text()
    kept = summaries(ROOT / "docs" / "gpu-evidence")
    assert headline_problems(text, kept) == []
    assert search_problems(text, kept) == []


# The checks themselves, on summaries written here.

def _summary(folder: Path, rel: str, scenario: str, valid: bool, qps: float, tokens: float,
             duration_ms: int = MLPERF_MIN_DURATION_MS) -> None:
    path = folder / rel / SUMMARY_FILE
    path.parent.mkdir(parents=True)
    loadgen_scenario = "Server" if scenario == "Interactive" else scenario
    ttft = INTERACTIVE_TTFT_NS if scenario == "Interactive" else 2_000_000_000
    metric = "Tokens per second" if scenario == "Offline" else "Completed tokens per second"
    verdict = "VALID" if valid else "INVALID"
    path.write_text(f"Scenario : {loadgen_scenario}\n{metric}: {tokens}\nResult is : {verdict}\n"
                    f"target_qps : {qps:g}\nttft_latency (ns): {ttft}\nmin_duration (ms): {duration_ms}\n")


@pytest.fixture()
def evidence(tmp_path: Path) -> Path:
    _summary(tmp_path, "a/Performance", "Interactive", True, 40, 5167.49)
    _summary(tmp_path, "b/Performance", "Interactive", True, 40, 5150.02)
    _summary(tmp_path, "c/Performance", "Interactive", False, 42, 5425.73)
    _summary(tmp_path, "d/Search/confirm-1-qps-39", "Interactive", True, 39, 5040.1)
    _summary(tmp_path, "d/Search/probe-07-qps-44", "Interactive", True, 44, 5600.0, duration_ms=150_000)
    _summary(tmp_path, "h/Search/probe-01-qps-41.5", "Interactive", True, 41.5, 5300.0, duration_ms=30_000)
    _summary(tmp_path, "h/Performance", "Interactive", True, 39.5, 5100.0)  # the confirmation the search chose
    _summary(tmp_path, "e/Performance", "Server", True, 56, 7166.15, duration_ms=0)
    _summary(tmp_path, "f/Performance", "Offline", True, 60, 7884.12)
    _summary(tmp_path, "f/Performance-repeat-2", "Offline", True, 60, 7790.0)
    return tmp_path


def test_a_headline_needs_a_full_length_valid_run_and_a_repeat_within_two_percent(evidence: Path):
    kept = summaries(evidence)
    assert headline_problems("Headline 1xH200 Interactive: 5167.49 tokens/s\n", kept) == []
    assert headline_problems("Headline 1xH200 Offline: 7884.12 tokens/s\n", kept) == []  # 1.2% apart
    assert headline_problems("Headline 1xH200 Server: 7166.15 tokens/s\n", kept)  # a 4-minute run
    assert headline_problems("Headline 1xH200 Interactive: 5425.73 tokens/s\n", kept)  # INVALID
    assert headline_problems("Headline 1xH200 Offline: 7000 tokens/s\n", kept)  # no such summary
    _summary(evidence, "g/Performance", "Interactive", True, 44, 5600.0)
    assert headline_problems("Headline 1xH200 Interactive: 5600.0 tokens/s\n", summaries(evidence))  # no repeat
    assert headline_problems("Headline 1xH200 Offline: about 7,900 tokens/s\n", kept)  # not the form


def test_a_search_line_needs_its_confirmation_and_a_bracket_of_fixed_runs(evidence: Path):
    kept = summaries(evidence)
    line = "Search 1xH200 Interactive: confirmed {} QPS, highest VALID fixed {} QPS\n"
    assert search_problems(line.format(39, 40), kept) == []
    assert any("confirmation at 44" in p for p in search_problems(line.format(44, 40), kept))  # a probe, not one
    assert any("under 0.97" in p for p in search_problems(line.format(39, 42), kept))
    assert any("INVALID" in p for p in search_problems(line.format(39, 42), kept))  # nothing above 42
    assert any("fixed run at 38" in p for p in search_problems(line.format(39, 38), kept))
    assert search_problems(line.format(39.5, 40), kept) == []  # its chosen confirmation, in Performance/
    assert any("fixed run at 39.5" in p for p in search_problems(line.format(39, 39.5), kept))  # not a fixed run
    assert search_problems(line.format(39, 40).replace("Interactive", "Server"), kept)
    assert search_problems("Search 1xH200 Interactive: 39 QPS\n", kept)  # not the form
