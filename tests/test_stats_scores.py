"""Judge statistics and outputs: bootstrap CI, Wilcoxon, win/tie/loss, summary shape, files."""

import json

import numpy as np
import pytest
from scipy.stats import wilcoxon

from workshop.core.stats import key_stats, paired_stats
from workshop.judge.summary import build_summary, summary_markdown, write_outputs


def test_key_stats_numbers():
    s = key_stats([70, 80, None, 90, 100])
    assert s["n"] == 5 and s["n_scored"] == 4
    assert s["mean"] == 85.0 and s["median"] == 85.0
    assert s["std"] == pytest.approx(np.std([70, 80, 90, 100], ddof=1))
    lo, hi = s["ci95"]
    assert 70 <= lo < 85 < hi <= 100


def test_key_stats_with_nothing_scored():
    assert key_stats([None, None]) == {"n": 2, "n_scored": 0, "mean": None, "median": None, "std": None, "ci95": None}


def test_paired_stats_counts_and_wilcoxon():
    before = [50, 60, 70, None, 80, 90, 40, 30]
    after = [55, 60, 90, 40, 70, 95, 60, 45]
    p = paired_stats(before, after, "response_before", "response_after")
    diff = np.array([5, 0, 20, -10, 5, 20, 15])
    assert (p["a"], p["b"], p["n"]) == ("response_before", "response_after", 7)
    assert p["mean_diff"] == pytest.approx(diff.mean())
    assert (p["wins"], p["ties"], p["losses"]) == (5, 1, 1)
    assert p["wilcoxon_p"] == pytest.approx(wilcoxon(diff).pvalue)
    assert p["ci95"][0] < diff.mean() < p["ci95"][1]


def test_paired_ties_for_float_scores_and_identical_keys():
    p = paired_stats([50.0, 60.0, 70.0], [50.3, 59.8, 71.0], "a", "b")
    assert (p["wins"], p["ties"], p["losses"]) == (1, 2, 0)
    same = paired_stats([10, 20], [10, 20], "a", "b")
    assert same["wilcoxon_p"] == 1.0 and same["mean_diff"] == 0.0


def records(keys, scores):
    return [
        {"id": i, "key": k, "score": s, "mode": "generate", "raw": str(s), "reason": None, "argmax": None,
         "valid_mass": None, "prompt_hash": "x", "exact_match": (s or 0) >= 65, "token_f1": (s or 0) / 100,
         "rouge_l": (s or 0) / 100, "length": i + 1}
        for i, row in enumerate(scores) for k, s in zip(keys, row)
    ]


def test_summary_shape_and_outputs(tmp_path):
    keys = ["response_before", "response_after"]
    recs = records(keys, [(50, 70), (60, 65), (None, 80), (40, 90)])
    summary = build_summary(recs, keys, "judge-x", "generate")
    assert set(summary) == {"judge", "mode", "keys", "paired", "reliability", "reference_key", "notes"}
    assert (summary["judge"], summary["mode"]) == ("judge-x", "generate")
    for key in keys:
        assert set(summary["keys"][key]) == {"n", "n_scored", "mean", "median", "std", "ci95", "reference"}
    assert summary["keys"]["response_after"]["reference"] == {"exact_match": 1.0, "token_f1": pytest.approx(0.7625),
                                                              "rouge_l": pytest.approx(0.7625), "n": 4, "note": None}
    em = summary["paired"]["reference"]["exact_match"]  # before right: none (>= 65); after right: all four
    assert (em["both"], em["only_a"], em["only_b"], em["neither"]) == (0, 0, 4, 0)
    assert summary["paired"]["mcnemar_p"] == em["mcnemar_p"] == pytest.approx(0.125)  # 2 * 0.5 ** 4
    assert summary["keys"]["response_before"]["n_scored"] == 3 and summary["keys"]["response_after"]["n_scored"] == 4
    assert summary["paired"]["n"] == 3 and summary["paired"]["wins"] == 3

    paths = write_outputs(tmp_path, recs, summary)
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()] == recs
    for name in ("scores.png", "paired.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "summary.md").read_text()
    assert md == summary_markdown(summary) and paths["markdown"] == tmp_path / "summary.md"
    assert "| response_before | 3 / 4 | 50.00 |" in md
    assert "| 3 / 0 / 0 |" in md


def test_one_key_has_no_paired_section(tmp_path):
    recs = records(["only"], [(10,), (20,)])
    summary = build_summary(recs, ["only"], "j", "logits")
    assert "paired" not in summary
    paths = write_outputs(tmp_path, recs, summary)
    assert "paired_png" not in paths and not (tmp_path / "paired.png").exists()
    assert "Paired" not in summary_markdown(summary)
