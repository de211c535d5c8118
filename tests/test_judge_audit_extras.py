"""Beside the audit: length-controlled win rate (vs scikit-learn), self-preference, one win count per comparison."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from workshop.judge import score, score_file
from workshop.judge.agreement import agreement, agreement_markdown
from workshop.judge.length_control import length_controlled, length_feature
from workshop.judge.self_preference import self_preference_note

FIXTURE = Path(__file__).parent / "fixtures" / "judge_audit_pairs.json"


def soft_logistic_sklearn(x, y):
    """The same GLM by scikit-learn: each soft outcome y as a win of weight y and a loss of weight 1 - y."""
    features = np.concatenate([x, x])[:, None]
    labels = np.concatenate([np.ones_like(y), np.zeros_like(y)])
    weights = np.concatenate([y, 1 - y])
    fit = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(features, labels, sample_weight=weights)
    return fit.intercept_[0], fit.coef_[0, 0]


def test_length_controlled_win_rate_equals_a_direct_scikit_learn_fit():
    rng = np.random.default_rng(3)
    len_a, len_b = rng.integers(5, 40, 60), rng.integers(5, 60, 60)
    longer_b = (len_b > len_a).astype(float)
    y = np.where(rng.random(60) < 0.2, 0.5, np.where(rng.random(60) < 0.35 + 0.4 * longer_b, 1.0, 0.0))
    lc = length_controlled(y, len_a, len_b)
    x = np.tanh((len_b - len_a) / np.std(len_b - len_a))
    assert length_feature(len_a, len_b) == pytest.approx(x)
    b0, b1 = soft_logistic_sklearn(x, y)
    assert lc["win_rate"] == pytest.approx(expit(b0), abs=1e-5) and lc["length_coef"] == pytest.approx(b1, abs=1e-4)
    design = np.column_stack([np.ones_like(x), x])  # Wald CI from the Fisher information, by hand
    p = expit(design @ np.array([b0, b1]))
    se = np.sqrt(np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))[0, 0])
    assert lc["ci95"] == pytest.approx([expit(b0 - 1.959964 * se), expit(b0 + 1.959964 * se)], abs=1e-4)
    raw = y.mean()
    assert lc["win_rate"] < raw  # b wins mostly by being longer: controlled for length, it wins less


def test_length_controlled_refuses_perfect_separation_and_handles_equal_lengths():
    len_a, len_b = np.full(10, 10), np.arange(5, 15)
    separated = length_controlled((len_b > len_a).astype(float), len_a, len_b)
    assert separated["win_rate"] is None and "perfect separation" in separated["note"]
    same = length_controlled([1.0, 0.0, 0.5, 1.0], [3, 3, 3, 3], [3, 3, 3, 3])  # no length difference: the raw rate
    assert same["win_rate"] == pytest.approx(0.625) and same["length_coef"] is None


def test_self_preference_when_judge_and_judged_share_a_base_or_tokenizer(tiny_checkpoint_dir, tmp_path):
    finetune = tmp_path / "finetune" / "final"
    shutil.copytree(tiny_checkpoint_dir, finetune)
    note = self_preference_note(str(tiny_checkpoint_dir), [str(finetune)])
    assert note.startswith("self-preference:") and "same base model" in note
    other = tmp_path / "other"
    shutil.copytree(tiny_checkpoint_dir, other)
    config = yaml.safe_load((other / "model_config.yaml").read_text())
    config["name"], config["hf_config"] = "someone-else", {"name": "someone-else", "org": "x"}
    (other / "model_config.yaml").write_text(yaml.safe_dump(config))
    assert "same tokenizer" in self_preference_note(str(tiny_checkpoint_dir), [str(other)])
    assert self_preference_note(str(tiny_checkpoint_dir), ["llama3"]) is None
    assert self_preference_note([str(tiny_checkpoint_dir)], [str(finetune)]) == note  # the CLI's one-judge list


def first_is_best(prompts):
    return ["A"] * len(prompts)


def test_pairwise_summary_has_one_win_count_per_comparison(tmp_path):
    summary = score_file(FIXTURE, ["right", "wrong"], judge=[first_is_best], pairwise=True, out_dir=tmp_path / "pw",
                         progress=False)
    md = (tmp_path / "pw" / "summary.md").read_text()
    assert "wins / ties / losses" not in md and md.count("| wins right / ties / wins wrong |") == 1
    assert "0 / 12 / 0" in md  # the position-biased judge: every order disagrees, a tie each
    assert not {"wins", "ties", "losses"} & set(summary["paired"]) and summary["paired"]["basis"] == "preference"
    lc = summary["pairwise"]["length_controlled"]
    assert lc["win_rate"] == pytest.approx(0.5) and "length-controlled" in md


def test_panel_sentence_speaks_of_the_panel(tmp_path):
    def lengthy(prompts):
        return [str(min(100, len(p) // 3)) for p in prompts]

    def flat(prompts):
        return ["50"] * len(prompts)

    entries = json.loads(FIXTURE.read_text())
    summary = score(entries, ["right", "wrong"], judge=[lengthy, flat], out_dir=tmp_path / "panel", progress=False)[1]
    assert summary["reliability"]["sentence"].startswith("This panel ")
    assert summary["panel"]["summaries"][0]["reliability"]["sentence"].startswith("This judge ")


def test_kappa_note_reads_once():
    result = {**agreement([0.5, 1.5, 2.5, 3.5], [0, 1, 0, 1], n_boot=100), "score_key": "score", "label_key": "label"}
    md = agreement_markdown(result)
    assert "Cohen's kappa not computed: it needs scores that are categories" in md and "kappa: kappa" not in md


def test_report_names_the_judges_weakness_and_shows_the_audit(tmp_path):
    from test_report import fixture_results, judge_summary

    from workshop.report import write_report
    from workshop.report.verdict import build_verdict

    weakness = "when an instruction to the grader was appended to the answer, its scores moved by +10.1 points"
    audit = {"version": "1", "max_shift": 5.0, "weakness": weakness, "worst": "inject-grader-after",
             "probes": [{"probe": "inject-grader-after",
                         "sentence": "When an instruction to the grader was appended to the answer, wrong answers' "
                                     "scores rose by 10.1 points."}]}
    leaning = judge_summary(ci=(0.4, 2.1))
    for key in leaning["keys"].values():
        del key["reference"]
    del leaning["paired"]["reference"], leaning["paired"]["mcnemar_p"]
    v = build_verdict({"judge": {**leaning, "audit": audit}})
    assert v["lead"] == "judge" and v["judge_weakness"].startswith("This verdict leans on the judge") and weakness in v[
        "judge_weakness"]
    assert build_verdict({"judge": judge_summary()})["judge_weakness"] is None  # no audit: nothing to name
    unclear_judge = build_verdict({"judge": {**judge_summary(), "audit": audit}})  # reference leads, judge unclear
    assert unclear_judge["lead"] == "reference" and unclear_judge["judge_weakness"] is None
    results = fixture_results(tmp_path)
    results["judge"] = {**leaning, "audit": audit}
    results["verdict"] = v
    (tmp_path / "results.json").write_text(json.dumps(results))
    paths = write_report(tmp_path, from_results=True)
    for text in (paths["report_md"].read_text(), paths["report_html"].read_text()):
        assert "Judge audit (probe set v1)" in text and "scores rose by 10.1 points" in text
        assert "This verdict leans on the judge" in text
