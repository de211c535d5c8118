"""Judge panels: every judge's run kept, the panel's mean per item, Spearman and Krippendorff's alpha."""

import json
import re
from itertools import combinations

import numpy as np
import pytest
from scipy.stats import spearmanr

from workshop.cli.main import main
from workshop.judge import score
from workshop.models.testing import tiny_checkpoint

from test_judge_fixtures import one_thread, tiny_digits_dir  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("one_thread")
_RESPONSE = re.compile(r"score the model response `(.*?)` on a scale", re.DOTALL)

ENTRIES = [{"instruction": f"Add {i} and 2.", "input": "", "output": f"{i + 2}", "a": f"{i + 2}",
            "b": "I do not know" if i % 2 else f"{i + 3}"} for i in range(10)]


def text_judge(rule):
    def judge(prompts):
        return [rule(_RESPONSE.search(p).group(1)) for p in prompts]

    return judge


def alpha_interval(matrix):
    """Krippendorff's alpha (interval) by its definition: 1 - observed / expected disagreement over pairable values."""
    units = [col[~np.isnan(col)] for col in matrix.T]
    units = [u for u in units if u.size >= 2]
    values = np.concatenate(units)
    n = values.size
    d_o = sum(((u[:, None] - u[None, :]) ** 2).sum() / (u.size - 1) for u in units) / n
    d_e = ((values[:, None] - values[None, :]) ** 2).sum() / (n * (n - 1))
    return 1 - d_o / d_e


def test_panel_mean_spearman_and_alpha(tmp_path):
    judges = [text_judge(lambda r: str(5 * len(r))),  # longer answers score higher
              text_judge(lambda r: "90" if r[0].isdigit() else "20"),
              text_judge(lambda r: "no idea" if r.startswith("9") else str(5 * len(r) + 7))]  # two unparseable items
    judges[0].__qualname__, judges[1].__qualname__, judges[2].__qualname__ = "by-length", "digits", "flaky"
    records, summary = score(ENTRIES, ["a", "b"], judge=judges, out_dir=tmp_path / "panel", progress=False)
    runs = [[json.loads(line) for line in (tmp_path / "panel" / "judges" / d / "scores.jsonl").read_text().splitlines()]
            for d in ("1-by-length", "2-digits", "3-flaky")]
    matrix = np.array([[np.nan if r["score"] is None else r["score"] for r in run] for run in runs])
    assert np.isnan(matrix).sum() == 2  # "9" (entry 7's a, entry 6's b) gets prose, before and after the retry
    assert [r["score"] for r in records] == pytest.approx(list(np.nanmean(matrix, axis=0)))
    assert [r["judge_scores"] for r in records] == [[None if np.isnan(v) else v for v in col] for col in matrix.T]
    panel = summary["panel"]
    assert panel["judges"] == ["by-length", "digits", "flaky"] and summary["mode"] == "generate"
    for pair, (i, j) in zip(panel["spearman"], combinations(range(3), 2)):
        both = ~np.isnan(matrix[i]) & ~np.isnan(matrix[j])
        assert (pair["a"], pair["b"], pair["n"]) == (panel["judges"][i], panel["judges"][j], int(both.sum()))
        assert pair["spearman"] == pytest.approx(spearmanr(matrix[i, both], matrix[j, both]).statistic, abs=1e-9)
    assert panel["krippendorff_alpha"] == pytest.approx(alpha_interval(matrix), abs=1e-9)
    assert [s["keys"]["a"]["mean"] for s in panel["summaries"]] == pytest.approx(list(np.nanmean(matrix[:, ::2], axis=1)))
    assert summary["keys"]["b"]["reference"]["exact_match"] == 0.0 and summary["reliability"]["n"] == 20
    md = (tmp_path / "panel" / "summary.md").read_text()
    assert "Krippendorff's alpha (interval)" in md and "| flaky |" in md


def test_cli_panel_of_two_checkpoints(tmp_path, tiny_digits_dir, capsys):
    other = tiny_checkpoint(tmp_path / "other", tokenizer="gpt2", seed=1)
    data, out = tmp_path / "d.json", tmp_path / "out"
    data.write_text(json.dumps(ENTRIES[:4]))
    assert main(["judge", "--data", str(data), "--key", "a", "--key", "b", "--judge", str(tiny_digits_dir),
                 "--judge", str(other), "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judge"] == f"panel: {tiny_digits_dir} + {other}" and summary["mode"] == "logits"
    assert [p.split("/")[-1] for p in summary["panel"]["out_dirs"]] == ["1-tiny-digits", "2-other"]
    for d in summary["panel"]["out_dirs"]:
        assert json.loads((tmp_path / d / "summary.json").read_text())["keys"]["a"]["n_scored"] == 4
    assert "Panel" in capsys.readouterr().out
