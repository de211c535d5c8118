"""`eval mmlu --compare A B`: per-question pairing against a brute-force count of lm-eval's own samples."""

from __future__ import annotations

import csv
import json

import pytest
from scipy.stats import binomtest

from workshop.cli.main import main
from workshop.evals import mmlu
from workshop.evals.mmlu_paired import accuracy_stderr
from workshop.models.testing import tiny_checkpoint

QUESTIONS = [[f"Quiz {i}: which word is {w}?", "alpha", "beta", "gamma", "delta", "ABCD"[(i * 3) % 4]]
             for i, w in enumerate(["first", "odd", "last", "long", "short", "kind", "true", "red", "blue", "calm",
                                    "loud", "old"])]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mmlu")
    (root / "test").mkdir()
    for subject, rows in (("philosophy", QUESTIONS[:8]), ("marketing", QUESTIONS[8:])):
        with open(root / "test" / f"{subject}_test.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(rows)
    return root


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return [tiny_checkpoint(root / f"m{seed}", seed=seed, init_std=0.6) for seed in (1, 2)]


def samples(folder, task):
    return {s["doc_id"]: bool(s["acc"]) for s in map(json.loads, (folder / f"samples_{task}.jsonl").read_text().splitlines())}


def test_compare_pairs_questions_like_a_brute_force_count(two_models, data_dir, tmp_path, capsys):
    tasks = ["mmlu_philosophy", "mmlu_marketing"]
    argv = ["eval", "mmlu", "--compare", str(two_models[0]), str(two_models[1]), "--tasks", ",".join(tasks),
            "--data-dir", str(data_dir), "--log-samples", "--labels", '["base", "tuned"]', "--out", str(tmp_path)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "results.json").read_text())
    p = summary["paired"]
    a_dir, b_dir = tmp_path / f"0-{two_models[0].name}", tmp_path / f"1-{two_models[1].name}"
    a = {t: samples(a_dir, t) for t in tasks}
    b = {t: samples(b_dir, t) for t in tasks}
    pairs = [(a[t][i], b[t][i]) for t in tasks for i in sorted(a[t])]
    counts = {"both": sum(x and y for x, y in pairs), "only_a": sum(x and not y for x, y in pairs),
              "only_b": sum(y and not x for x, y in pairs), "neither": sum(not x and not y for x, y in pairs)}
    assert {k: p[k] for k in counts} == counts and p["n"] == len(pairs) == 12
    discordant = counts["only_a"] + counts["only_b"]
    assert p["mcnemar_p"] == pytest.approx(binomtest(counts["only_b"], discordant, 0.5).pvalue if discordant else 1.0,
                                           abs=1e-12)
    assert counts["only_a"] + counts["only_b"] > 0, "the two random models should disagree somewhere"
    for task in tasks:  # accuracy and standard error equal lm-eval's own figures for each model
        lm_a = json.loads((a_dir / "results.json").read_text())["results"][task]
        s = p["per_subject"][task]
        assert s["acc_a"] == pytest.approx(lm_a["acc,none"]) and s["stderr_a"] == pytest.approx(lm_a["acc_stderr,none"])
        assert s["chance"] == 0.25 and s["n"] == len(a[task])
    assert (p["a"], p["b"]) == ("base", "tuned") and summary["files"]["base"] == str(a_dir / "results.json")
    assert "(n=8)" in printed and "(n=4)" in printed and f"McNemar's exact p = {p['mcnemar_p']:.2g}" in printed
    assert f"wrote {tmp_path / 'results.json'}" in printed and str(b_dir / "results.json") in printed


def test_compare_marks_unequal_question_counts_and_pairs_the_common_ones(two_models, data_dir, tmp_path):
    short = mmlu.evaluate(two_models[0], "mmlu_philosophy", data_dir=data_dir, limit=3, out_dir=tmp_path / "short")
    full = mmlu.evaluate(two_models[1], "mmlu_philosophy", data_dir=data_dir, out_dir=tmp_path / "full")
    summary = mmlu.compare([str(tmp_path / "short"), str(tmp_path / "full" / "results.json")])
    table = mmlu.compare_markdown(summary)
    assert "(n=3)" in table and "(n=8)" in table
    assert summary["paired"]["n"] == 3 and summary["paired"]["n_a"] == 3 and summary["paired"]["n_b"] == 8
    full_first = full["workshop"]["per_question"]["mmlu_philosophy"]["correct"][:3]
    assert summary["paired"]["per_subject"]["mmlu_philosophy"]["acc_b"] == pytest.approx(sum(full_first) / 3)
    assert short["results"]["mmlu_philosophy"]["acc,none"] == summary["paired"]["acc_a"]


def test_accuracy_stderr_is_lm_evals_formula():
    acc, se = accuracy_stderr([True, False, True, True])
    assert acc == 0.75 and se == pytest.approx((0.75 * 0.25 * 4 / 3) ** 0.5 / 2)
    assert accuracy_stderr([]) == (None, None) and accuracy_stderr([True]) == (1.0, None)


def test_tasks_are_named_the_same_with_or_without_out(two_models, data_dir, tmp_path, capsys):
    argv = ["eval", "mmlu", "--model", str(two_models[0]), "--tasks", "mmlu_philosophy,mmlu_marketing",
            "--data-dir", str(data_dir), "--limit", "2"]
    tables = []
    for extra in ([], ["--out", str(tmp_path)]):
        assert main(argv + extra) == 0
        tables.append([line for line in capsys.readouterr().out.splitlines() if line.startswith("|")])
    assert tables[0] == tables[1] and any(line.startswith("|mmlu_philosophy") for line in tables[0])
    assert [line for line in (tmp_path / "results.md").read_text().splitlines() if line.startswith("|")] == tables[0]
