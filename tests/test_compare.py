"""`workshop compare`: runs paired with a baseline on shared items, p-values Holm-adjusted, bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest, wilcoxon

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_json, read_json, read_jsonl
from workshop.report.compare import MIN_SHARED, compare
from workshop.report.testing import judge_run, instruction_items


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment written out: sorted p times (m - rank), running maximum, capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    items = instruction_items(120)
    made = {name: judge_run(root / name, items, skill, seed)
            for name, skill, seed in (("base", 0.3, 1), ("same", 0.3, 2), ("strong", 0.75, 3))}
    made["other_set"] = judge_run(root / "other_set", instruction_items(120, seed=99), 0.3, 4)
    return made


def by_id(judge_dir: Path) -> dict:
    return {r["id"]: r for r in read_jsonl(judge_dir / "scores.jsonl")}


def test_pvalues_equal_scipy_and_holm_by_hand(runs, tmp_path):
    result = compare([str(runs["base"]), str(runs["same"]), str(runs["strong"])], out=tmp_path / "cmp")
    base = by_id(runs["base"])
    raw = {}
    for name in ("same", "strong"):
        run = by_id(runs[name])
        only_base = sum(base[i]["exact_match"] and not run[i]["exact_match"] for i in base)
        only_run = sum(run[i]["exact_match"] and not base[i]["exact_match"] for i in base)
        raw[(name, "exact_match")] = binomtest(only_run, only_base + only_run, 0.5).pvalue
        for measure, field in (("token_f1", "token_f1"), ("rouge_l", "rouge_l"), ("judge", "score")):
            diff = [run[i][field] - base[i][field] for i in base]
            raw[(name, measure)] = wilcoxon(diff).pvalue
    got = {(c["run"].split("/")[0], c["measure"]): c for c in result["comparisons"]}
    assert set(got) == set(raw)
    keys = sorted(raw)
    expected_holm = dict(zip(keys, holm([raw[k] for k in keys])))
    for k in keys:
        assert got[k]["p"] == pytest.approx(raw[k], rel=1e-9)
        assert got[k]["p_holm"] == pytest.approx(expected_holm[k], rel=1e-9)
        assert got[k]["n"] == 120
    assert got[("strong", "exact_match")]["change"] == "better"  # skill 0.75 vs 0.3 on 120 items
    assert got[("same", "exact_match")]["change"] == "no clear change" or got[("same", "exact_match")]["p_holm"] < 0.05
    rows = result["rows"]
    ems = [row["cells"]["exact_match"]["figure"] for row in rows]
    assert ems == sorted(ems, reverse=True)  # sorted best first
    assert ems[0] == pytest.approx(np.mean([r["exact_match"] for r in by_id(runs["strong"]).values()]))
    for name in ("compare.json", "compare.md", "compare.html", "compare.png"):
        assert (tmp_path / "cmp" / name).stat().st_size > 200
    assert read_json(tmp_path / "cmp" / "compare.json")["n_comparisons"] == 8


def test_other_test_set_is_not_comparable(runs):
    result = compare([str(runs["base"]), str(runs["other_set"])])
    for c in result["comparisons"]:
        assert c["change"] == "not comparable" and c["p"] is None
        assert c["n"] < MIN_SHARED and "different test set" in c["reason"]


def test_another_judge_is_not_comparable(runs, tmp_path):
    items = instruction_items(120)
    other = judge_run(tmp_path / "j2", items, 0.3, 5, judge="another-judge")
    result = compare([str(runs["base"]), str(other)])
    calls = {c["measure"]: c for c in result["comparisons"]}
    assert calls["judge"]["change"] == "not comparable" and "another judge" in calls["judge"]["reason"]
    assert calls["exact_match"]["p"] is not None  # reference metrics do not depend on the judge


def pipeline_folder(root: Path, judge_dir: Path, steps: int, mmlu_correct: list[bool], val_loss: float) -> Path:
    """A pipeline.json with a finetune (LitGPT's metrics.csv), judge and MMLU step pointing at outputs on disk."""
    root.mkdir(parents=True)
    metrics = root / "finetune" / "metrics.csv"  # LitGPT logs the final validation without a step: step 0 after training
    metrics.parent.mkdir()
    metrics.write_text(f"step,train_loss,val_loss\n1,2.0,\n{steps},1.5,1.6\n0,,{val_loss}\n")
    table = {"mmlu_management": {"doc_id": list(range(len(mmlu_correct))), "correct": mmlu_correct,
                                 "doc_hash": [f"h{i}" for i in range(len(mmlu_correct))]}}
    atomic_write_json(root / "mmlu" / "finetuned" / "results.json", {"results": {}, "workshop": {"per_question": table}})
    steps_log = {
        "finetune": {"uses": "finetune_lora", "with": {"train": {"max_steps": steps}, "out_dir": str(root / "finetune")},
                     "outputs": {"metrics": str(metrics), "out_dir": str(root / "finetune")}},
        "respond_after": {"uses": "respond", "with": {}, "outputs": {"data": str(judge_dir.parent / "responses.json")}},
        "judge": {"uses": "judge", "with": {"judge": "synthetic-judge"}, "outputs": {"out_dir": str(judge_dir)}},
        "mmlu": {"uses": "mmlu", "with": {}, "outputs": {"results": {"finetuned": str(root / "mmlu/finetuned/results.json")}}},
    }
    atomic_write_json(root / "pipeline.json", {"name": "quickstart", "steps": steps_log})
    return root


def test_pipeline_runs_settings_mmlu_and_loss(runs, tmp_path):
    rng = np.random.default_rng(0)
    a_right = [bool(x) for x in rng.random(60) < 0.4]
    b_right = [r or bool(rng.random() < 0.5) for r in a_right]
    a = pipeline_folder(tmp_path / "s8", runs["base"], 8, a_right, 1.9)
    b = pipeline_folder(tmp_path / "s32", runs["strong"], 32, b_right, 1.4)
    result = compare([str(b)], baseline=str(a))
    assert result["baseline"] == "s8"
    assert result["differing_settings"] == ["finetune.train.max_steps"]  # run folders in paths are not a difference
    row = {r["name"]: r for r in result["rows"]}
    assert row["s32"]["settings"] == {"finetune.train.max_steps": 32}
    mmlu = row["s32"]["cells"]["mmlu"]
    assert mmlu["figure"] == pytest.approx(np.mean(b_right))
    assert mmlu["spread"] == pytest.approx(np.std(b_right, ddof=1) / np.sqrt(60))
    call = mmlu["vs_baseline"]
    only_b = sum(y and not x for x, y in zip(a_right, b_right))
    assert call["only_run"] == only_b and call["only_baseline"] == 0
    assert call["p"] == pytest.approx(binomtest(only_b, only_b, 0.5).pvalue)
    loss = row["s32"]["cells"]["final_val_loss"]
    assert loss["figure"] == 1.4 and loss["vs_baseline"]["p"] is None  # one number per run: shown, not tested


def test_bad_input_is_one_line(runs, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkshopError, match="not a run"):
        compare([str(tmp_path / "empty"), str(runs["base"])])
    classify = tmp_path / "cls" / "classify.json"
    atomic_write_json(classify, {"mcc": 0.2, "per_item": [{"index": i, "gold": "a", "pred": "a", "correct": True}
                                                          for i in range(20)]})
    with pytest.raises(WorkshopError, match="no measure in common"):
        compare([str(runs["base"]), str(classify.parent)])
    with pytest.raises(WorkshopError, match="at least two runs"):
        compare([str(runs["base"])])
    with pytest.raises(WorkshopError, match="--sort-by mcc"):
        compare([str(runs["base"]), str(runs["same"])], sort_by="mcc")


def test_cli_verb_prints_table_and_writes(runs, tmp_path, capsys):
    from workshop.cli.args import run_verb

    assert run_verb("compare", [str(runs["base"]), str(runs["strong"]), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "Holm-adjusted" in out and "(baseline)" in out and "better" in out
    page = (tmp_path / "o" / "compare.html").read_text()
    data = json.loads(page.split('id="xp-data">')[1].split("</script>")[0])
    assert len(data["items"]) == 120 and len(data["columns"]) == 2
    assert "http://" not in page and "https://" not in page  # self-contained: nothing fetched


def test_bootstrap_cis_at_once_equal_one_by_one():
    from workshop.core.stats import bootstrap_ci, bootstrap_mean_cis

    rng = np.random.default_rng(11)
    rows = [rng.normal(size=300), (rng.random(300) < 0.3) * 1.0, np.full(300, 2.5)]
    at_once = np.asarray(bootstrap_mean_cis(rows, n_boot=2500, chunk=700))
    one_by_one = np.asarray([bootstrap_ci(r, n_boot=2500) for r in rows])  # scipy.stats.bootstrap, row by row
    np.testing.assert_allclose(at_once, one_by_one, rtol=1e-12, atol=1e-12)
    assert at_once[0, 0] < at_once[0, 1] and at_once[2].tolist() == [2.5, 2.5]
