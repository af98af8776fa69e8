"""MLPerf's rules enforced, not assumed: a setting that breaks a rule of the benchmark is refused before
anything starts (exit 2), or the run is marked not valid for submission on the console, in summary.json
and report.md, and --submission-dir never packs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlperf_vllm import presets, rule_checks
from mlperf_vllm.cli import run_args, run_main
from mlperf_vllm.config import Scenario
from mlperf_vllm.engines.openai_wire import GREEDY_FIELDS, cache_salts

from .conftest import only_run_dir, run_python
from .test_faults_inputs import _one_error_line, _submit, _submittable_run, _tree, stub_checker  # noqa: F401

MARKED = [
    (["--engine-arg", "enable_prefix_caching=true"], "caching across queries"),
    (["--engine-arg", "enable-prefix-caching=True"], "caching across queries"),  # a truthy string is on for vLLM
    (["--engine-arg", 'speculative_config={"method": "ngram", "num_speculative_tokens": 3}'], "speculative decoding"),
    (["--engine-arg", "kv_offloading_size=8"], "caching across queries"),
    (["--engine-arg", 'kv_transfer_config={"kv_connector": "LMCacheConnectorV1", "kv_role": "kv_both"}'],
     "keeps KV blocks for later requests"),
    (["--engine-arg", 'hf_overrides={"num_hidden_layers": 16}'], "reference model with its weights"),
    (["--engine-arg", 'logits_processors=["my_pkg.Boost"]'], "greedy search over the model's own logits"),
    (["--load-format", "dummy"], "random weights"),
    (["--engine-arg", "load_format=dummy"], "random weights"),
    (["--max-new-tokens", "64"], "at most 128 new tokens"),
]
ALLOWED = [
    ["--engine-arg", "enable_prefix_caching=false"],
    ["--engine-arg", "seed=7"],  # greedy decoding does not use a seed
    ["--engine-arg", 'kv_transfer_config={"kv_connector": "NixlConnector", "kv_role": "kv_both"}'],  # one query's KV
    ["--engine-arg", "async_scheduling=true", "--precision", "fp8", "--max-num-seqs", "512"],
]


@pytest.mark.parametrize("flags,rule", MARKED, ids=[" ".join(f)[:60] for f, _ in MARKED])
def test_a_setting_that_breaks_a_rule_is_named_with_the_rule(flags, rule):
    cfg, _ = run_args.parse(["--model", "demo", *flags])
    [line] = rule_checks.rule_breaks(cfg.to_dict())
    assert rule in line and "inference_rules.adoc" in line and line.startswith(flags[0])


@pytest.mark.parametrize("flags", ALLOWED, ids=[" ".join(f)[:60] for f in ALLOWED])
def test_settings_the_rules_allow_are_not_marked(flags):
    cfg, _ = run_args.parse(["--model", "demo", *flags])
    assert rule_checks.rule_breaks(cfg.to_dict()) == []


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_no_preset_breaks_a_rule(name):
    for scenario in presets.PRESETS[name]:
        category = "edge" if scenario is Scenario.SINGLESTREAM else "datacenter"
        qps = ["--server-target-qps", "10"] if scenario in (Scenario.SERVER, Scenario.INTERACTIVE) else []
        cfg, _ = run_args.parse(["--preset", name, "--scenario", scenario.value, "--category", category, *qps])
        assert rule_checks.rule_breaks(cfg.to_dict()) == [], (name, scenario)


REFUSED = [
    (["--engine-arg", "temperature=0.7"], "--engine-arg temperature is a sampling setting"),
    (["--engine-arg", "top_p=0.9"], "greedy search"),
    (["--engine-arg", "top-k=50"], "--engine-arg top_k is a sampling setting"),
    (["--engine-arg", "max_tokens=256"], "1 to 128 new tokens"),
    (["--engine-arg", "min_tokens=8"], "sampling setting"),
    (["--engine-arg", "repetition_penalty=1.2"], "sampling setting"),
    (["--engine-arg", 'override_generation_config={"temperature": 0.6}'], "would have no effect"),
    (["--engine-arg", "generation_config=/models/gen"], "would have no effect"),
    (["--backend", "openai", "--endpoint", "http://127.0.0.1:9", "--engine-arg", "enable_prefix_caching=false"],
     "does not reach the servers of --backend openai"),
]


@pytest.mark.parametrize("flags,fragment", REFUSED, ids=[" ".join(f)[-50:] for f, _ in REFUSED])
def test_sampling_or_unreachable_settings_are_refused_before_anything_starts(tmp_path, capsys, flags, fragment):
    results = tmp_path / "results"
    assert run_main.main(["--model", "demo", "--results-dir", str(results), *flags]) == 2
    _one_error_line(capsys.readouterr().err, fragment)
    assert not results.exists()


def test_http_requests_carry_the_greedy_settings_and_a_cache_salt_of_their_own():
    assert GREEDY_FIELDS["temperature"] == 0.0 and GREEDY_FIELDS["top_k"] == 1
    assert GREEDY_FIELDS["repetition_penalty"] == 1.0 and GREEDY_FIELDS["min_p"] == 0.0
    a, b = cache_salts(), cache_salts()
    salts = [next(a) for _ in range(1000)] + [next(b) for _ in range(1000)]
    assert len(set(salts)) == 2000  # unique per request, and across runs against the same servers
    assert all(len(s) <= 128 and not set(s) & set("@/\\\0") for s in salts)  # what vLLM accepts


_MARKED_RUN = """
import sys
from mlperf_vllm.cli.run_main import main
from mlperf_vllm.engines.fake import InstantEngine
sys.exit(main(["--model", "demo", "--mode", "performance", "--total-sample-count", "8", "--user-conf", {conf!r},
               "--engine-arg", "enable_prefix_caching=true", "--results-dir", {results!r}],
              engine_factory=lambda spec: InstantEngine(4)))
"""


def test_a_run_that_breaks_rules_says_so_everywhere_and_is_never_packed(tmp_path, capsys, stub_checker):
    results, conf = tmp_path / "results", tmp_path / "user.conf"
    conf.write_text("*.Offline.min_duration = 0\n*.Offline.min_query_count = 8\n"
                    "*.Offline.performance_sample_count_override = 8\n")
    r = run_python(_MARKED_RUN.format(conf=str(conf), results=str(results)))
    assert r.returncode == 0, r.stderr[-3000:]  # LoadGen's verdict is VALID: the run is not a failure
    assert "warning: this run will be marked not valid for submission: --engine-arg enable_prefix_caching=true" \
        in r.stderr.splitlines()[0]
    assert "Not valid for submission, breaks MLPerf's rules (--submission-dir never packs it)" in r.stdout
    run = only_run_dir(results)
    v = json.loads((run / "summary.json").read_text())["validity"]
    assert v["performance"] == "VALID" and v["submittable"] is False
    broken = v["rule_breaks"]
    assert [b.split(":")[0] for b in broken] == [
        "--engine-arg enable_prefix_caching=true", "--user-conf sets min_duration 0 s",
        "--user-conf sets performance_sample_count_override 8 of 13368",
        "--user-conf makes Offline's query 8 samples, fewer than the 13368 the checker requires (OFFLINE_MIN_SPQ)"]
    assert all(b in v["not_submittable_because"] for b in broken)
    report = (run / "report.md").read_text()
    assert "**Not valid for submission: breaks MLPerf's rules**" in report and "caching across queries" in report
    # --submission-dir: as if it had run --mode both and passed, it is still never packed
    data = json.loads((run / "summary.json").read_text())
    data["validity"].update(performance="VALID", accuracy="PASS")
    data["config"]["mode"] = "both"
    (run / "summary.json").write_text(json.dumps(data))
    assert _submit(results, tmp_path / "submission") == 5
    _one_error_line(capsys.readouterr().err, "breaks MLPerf's rules: --engine-arg enable_prefix_caching=true",
                    "(and 3 more)")
    assert not (tmp_path / "submission").exists()


def _with(run: Path, **config) -> None:
    data = json.loads((run / "summary.json").read_text())
    data["config"].update(config)
    (run / "summary.json").write_text(json.dumps(data))


def test_submission_skips_every_run_that_breaks_a_rule_and_packs_the_one_that_does_not(tmp_path, capsys,
                                                                                         stub_checker):
    results = tmp_path / "results"
    _submittable_run(results, "20260101-000000-datacenter-offline")
    cached = _submittable_run(results, "20260102-000000-datacenter-offline")
    _with(cached, engine={"dtype": "bfloat16", "extra": {"enable_prefix_caching": True}})
    short = _submittable_run(results, "20260103-000000-datacenter-offline")
    _with(short, max_new_tokens=64)
    recorded = _submittable_run(results, "20260104-000000-datacenter-offline")
    data = json.loads((recorded / "summary.json").read_text())
    data["validity"]["rule_breaks"] = ["--user-conf sets min_duration 60 s: a performance run lasts at least 600 s"]
    (recorded / "summary.json").write_text(json.dumps(data))
    before = _tree(results)
    assert _submit(results, tmp_path / "submission") == 0
    printed = capsys.readouterr().out
    assert "llama3.1-8b/Offline <- 20260101-000000-datacenter-offline" in printed
    assert ("skipped 20260102-000000-datacenter-offline: breaks MLPerf's rules: --engine-arg "
            "enable_prefix_caching=true: MLPerf forbids caching across queries") in printed
    assert "skipped 20260103-000000-datacenter-offline: breaks MLPerf's rules: --max-new-tokens 64" in printed
    assert "skipped 20260104-000000-datacenter-offline: breaks MLPerf's rules: --user-conf sets min_duration" \
        in printed
    assert _tree(results) == before
    # only runs that break a rule: refused, exit 5 (not accepted), nothing written
    import shutil
    shutil.rmtree(results / "20260101-000000-datacenter-offline")
    assert _submit(results, tmp_path / "submission2") == 5
    _one_error_line(capsys.readouterr().err, "can be submitted", "breaks MLPerf's rules")
    assert not (tmp_path / "submission2").exists()


def test_the_report_of_a_run_recorded_before_the_check_still_names_the_rule():
    from mlperf_vllm.report.markdown import verdict_lines

    old = {"status": "completed", "config": {"engine": {"extra": {"enable_prefix_caching": True}}},
           "validity": {"performance": "VALID", "submittable": True, "not_submittable_because": []}}
    lines = verdict_lines(old)
    assert any(ln.startswith("- **Not valid for submission: breaks MLPerf's rules**") for ln in lines)
    assert not any("**Submittable**" in ln for ln in lines)
