"""mmlu.py: prompts, the stratified limit, domains, the log-probability choice and the files written."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from mlperf_vllm.cli import mmlu_main
from mlperf_vllm.engines.base import Completion
from mlperf_vllm.mmlu import data as mdata
from mlperf_vllm.mmlu import evaluate as mev
from mlperf_vllm.mmlu.subjects import SUBJECT_DOMAIN, SUBJECTS

from .conftest import run_tool


def test_all_57_subjects_map_to_the_four_domains():
    assert len(SUBJECTS) == 57
    assert Counter(SUBJECT_DOMAIN.values()) == {"stem": 19, "humanities": 13, "social_sciences": 12, "other": 13}
    assert SUBJECT_DOMAIN["high_school_european_history"] == "humanities"
    assert SUBJECT_DOMAIN["econometrics"] == "social_sciences"
    assert SUBJECT_DOMAIN["college_medicine"] == "other"
    assert SUBJECT_DOMAIN["machine_learning"] == "stem"


def test_k_shot_prompt_uses_dev_examples_of_the_same_subject_only():
    d = mdata.demo_questions(per_subject=2, dev_per_subject=5)
    q = d.test["anatomy"][0]
    shots = d.dev["anatomy"][:2]
    prompt = mev.build_prompt(q, shots)
    assert prompt.startswith("The following are multiple choice questions (with answers) about anatomy.\n\n")
    blocks = prompt.split("\n\n")[1:]
    assert len(blocks) == 3  # two shots and the question
    for shot, block in zip(shots, blocks):
        assert block == (f"{shot.question}\nA. {shot.choices[0]}\nB. {shot.choices[1]}\nC. {shot.choices[2]}\n"
                         f"D. {shot.choices[3]}\nAnswer: {'ABCD'[shot.answer]}")
    assert blocks[-1].endswith("\nAnswer:") and blocks[-1].startswith(q.question)
    assert "anatomy" in prompt and "abstract algebra" not in prompt


def test_stratified_limit_is_proportional_seeded_and_exact():
    d = mdata.demo_questions(per_subject=6)
    d.test["astronomy"] = d.test["astronomy"] * 5  # one big subject (30 of 366 questions)
    picked = mdata.stratified_limit(d.test, 61, seed=3)
    assert len(picked) == 61
    counts = Counter(q.subject for q in picked)
    assert counts["astronomy"] == 5  # 61 * 30 / 366 = 5.0
    assert len(counts) == 57 and all(v == 1 for s, v in counts.items() if s != "astronomy")
    assert picked == mdata.stratified_limit(d.test, 61, seed=3)
    assert picked != mdata.stratified_limit(d.test, 61, seed=4)
    assert len(mdata.stratified_limit(d.test, None)) == 366


def test_choice_is_the_highest_logprob_letter():
    ids = (10, 11, 12, 13)
    assert mev.choose({10: -3.0, 11: -1.0, 12: -2.0, 13: -9.0}, ids)[0] == 1
    assert mev.choose({12: -0.5}, ids)[0] == 2  # letters missing from the answer count as -inf
    assert mev.choose({10: -1.0, 11: -1.0}, ids)[0] == 0  # a tie goes to the earlier letter


class LetterEngine:
    """Gives the letter chosen by pick(question index) log-probability -0.1, the others -5."""

    name = "fake-letters"

    def __init__(self, pick):
        self.pick = pick
        self.submits = []

    def submit(self, requests, sink):
        self.submits.append(len(requests))
        for r in requests:
            best = self.pick(r.tag)
            lps = {t: (-0.1 if i == best else -5.0) for i, t in enumerate(r.choice_token_ids)}
            sink.on_complete(Completion(r.tag, [r.choice_token_ids[best]], [lps]))

    def shutdown(self):
        pass


class _Tok:
    def encode(self, text, add_special_tokens=True):
        return [ord(c) % 251 for c in text] if add_special_tokens else [100 + "ABCD".index(text.strip())]


@pytest.mark.parametrize("mode", ["right", "always_a"])
def test_scores_are_the_arithmetic_of_the_answers(mode):
    d = mdata.demo_questions(per_subject=7)
    qs = mdata.stratified_limit(d.test, None)
    style = mev.PromptStyle(chat=False)
    prompts = mev.prepare(qs, d.dev, 5, _Tok(), style)
    pick = (lambda i: qs[i].answer) if mode == "right" else (lambda i: 0)
    engine = LetterEngine(pick)
    results = mev.aggregate(mev.evaluate(engine, qs, prompts, style.choice_token_ids(_Tok())))
    assert engine.submits == [len(qs)]  # every question in one submit
    share_a = sum(q.answer == 0 for q in qs) / len(qs) * 100
    expected = 100.0 if mode == "right" else round(share_a, 4)
    assert results["overall"]["accuracy"] == expected
    for subj, v in results["by_subject"].items():
        sub = [q for q in qs if q.subject == subj]
        want = 100.0 if mode == "right" else round(sum(q.answer == 0 for q in sub) / len(sub) * 100, 4)
        assert v["accuracy"] == want and v["questions"] == len(sub)
    assert sum(v["questions"] for v in results["by_domain"].values()) == len(qs)


def test_csv_and_parquet_layouts_load_the_same_questions(tmp_path):
    import pandas as pd

    d = mdata.demo_questions(per_subject=3)
    mdata.write_csv_layout(d, tmp_path / "csv")
    for split, groups in (("test", d.test), ("dev", d.dev)):
        for s, qs in groups.items():
            (tmp_path / "hf" / s).mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"question": [q.question for q in qs], "subject": s,
                          "choices": [list(q.choices) for q in qs], "answer": [q.answer for q in qs]}
                         ).to_parquet(tmp_path / "hf" / s / f"{split}-00000-of-00001.parquet")
    a = mdata.load_local(tmp_path / "csv", list(SUBJECTS))
    b = mdata.load_local(tmp_path / "hf", list(SUBJECTS))
    assert a.test == b.test == d.test and a.dev == b.dev == d.dev


def _run(tmp_path, *args, factory=None):
    return mmlu_main.main(["--model", "demo", "--results-dir", str(tmp_path / "r"), *args], engine_factory=factory)


def test_files_written_with_a_fake_engine(tmp_path, capsys):
    d = mdata.demo_questions()
    qs = mdata.stratified_limit(d.test, 57, seed=1234)
    assert _run(tmp_path, "--total-limit", "57", factory=lambda cfg: LetterEngine(lambda i: qs[i].answer)) == 0
    run_dir = next(p for p in (tmp_path / "r").iterdir() if p.is_dir() and not p.is_symlink())
    overall = json.loads((run_dir / "overall.json").read_text())
    assert overall["accuracy"] == 100.0 and overall["questions"] == 57
    assert set(json.loads((run_dir / "by_domain.json").read_text())) == {"STEM", "Humanities", "Social sciences", "Other"}
    assert len(json.loads((run_dir / "by_subject.json").read_text())) == 57
    rows = list(csv.DictReader((run_dir / "samples.csv").open()))
    assert len(rows) == 57 and all(r["correct"] == "1" and r["answer"] == r["prediction"] for r in rows)
    assert set(rows[0]) >= {"subject", "domain", "question_id", "answer", "prediction", "correct", "logprob_A",
                            "logprob_D", "latency_ms"}
    assert (run_dir / "plots" / "score_by_subject.png").stat().st_size > 10000
    assert "**Accuracy: 100.00%**" in (run_dir / "report.md").read_text()
    assert "MMLU accuracy: 100.00%" in capsys.readouterr().out
    (run_dir / "report.md").unlink()
    from mlperf_vllm.cli import report_main
    assert report_main.main([str(run_dir)]) == 0  # re-rendered as an MMLU report
    assert "**Accuracy: 100.00%**" in (run_dir / "report.md").read_text()


@pytest.mark.parametrize("args,message", [
    (["--subjects", "astrology"], "unknown MMLU subject"),
    (["--num-fewshot", "9"], "has only 5 dev examples"),
    (["--data-path", "/nonexistent"], "is not a directory"),
    (["--total-limit", "0"], "at least 1"),
])
def test_bad_input(tmp_path, capsys, args, message):
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("error:") and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_data_path_without_the_expected_files(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _run(tmp_path, "--data-path", str(tmp_path / "empty")) == 2
    assert "has no test questions" in capsys.readouterr().err


@pytest.mark.integration
def test_real_vllm_demo_run(tmp_path):
    r = run_tool("mmlu.py", "--model", "demo", "--total-limit", "60", "--num-fewshot", "2",
                 "--results-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    run_dir = (tmp_path / "latest").resolve()
    rows = list(csv.DictReader((run_dir / "samples.csv").open()))
    assert len(rows) == 60
    for row in rows:  # the prediction is the arg-max of the four full-vocabulary log-probabilities
        lps = [float(row[f"logprob_{x}"]) for x in "ABCD"]
        assert all(lp < 0 for lp in lps)
        assert row["prediction"] == "ABCD"[lps.index(max(lps))]
    overall = json.loads((run_dir / "overall.json").read_text())
    assert overall["correct"] == sum(r["correct"] == "1" for r in rows)


@pytest.mark.parametrize("bad_row,message", [
    ('"Short row?",A,B,C\n', "row 2: 4 columns instead of 6"),
    ('"What?",w,x,y,z,Z\n', "row 2: answer 'Z' is not one of A-D or 0-3"),
])
def test_malformed_mmlu_csv_is_refused_with_file_and_row(tmp_path, capsys, bad_row, message):
    d = mdata.demo_questions(per_subject=2)
    mdata.write_csv_layout(d, tmp_path / "csv")
    path = tmp_path / "csv" / "data" / "test" / "anatomy_test.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + bad_row + "".join(lines[1:]))
    assert _run(tmp_path, "--data-path", str(tmp_path / "csv"), "--subjects", "anatomy") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and str(path) in err and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_seed_switch_forms_work(tmp_path, capsys):
    """The seed README's `mmlu.py ... --details 1` and the bare switches."""
    d = mdata.demo_questions()
    qs = mdata.stratified_limit(d.test, 57, seed=1234)
    factory = lambda cfg: LetterEngine(lambda i: qs[i].answer)  # noqa: E731
    for extra in (["--details", "1", "--keep-all", "1", "--extra-metrics", "1"], ["--details", "--extra-metrics"]):
        assert _run(tmp_path, "--total-limit", "57", *extra, factory=factory) == 0
        out = capsys.readouterr().out
        assert "    anatomy: " in out  # the per-subject table
        summary = json.loads(((tmp_path / "r" / "latest") / "summary.json").read_text())
        assert set(summary["mmlu"]["latency_ms"]) == {"p50", "p90", "p99", "mean"}
    assert _run(tmp_path, "--total-limit", "57", "--keep-all", "0", factory=factory) == 0
    assert "--keep-all 0: removed earlier run" in capsys.readouterr().out
    assert len([p for p in (tmp_path / "r").iterdir() if p.is_dir() and not p.is_symlink()]) == 1
