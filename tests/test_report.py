"""The report: rendered from results.json by templates, verdict first, numbers in both files, a page that is not blank."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
from scipy.stats import binomtest

from workshop.report import write_report
from workshop.report.collect import collect
from workshop.report.loss import plot_finetune_loss, read_losses
from workshop.report.verdict import build_verdict

# Exact match before/after on 24 entries: 0 right before, 13 after, none lost.
EM = {"n": 24, "both": 0, "only_a": 0, "only_b": 13, "neither": 11}
EM_P = binomtest(13, 13, 0.5).pvalue  # 0.000244..., McNemar's exact p computed here, not by the code under test
MMLU_COUNTS = {"n": 100, "both": 20, "only_a": 7, "only_b": 5, "neither": 68}
MMLU_P = binomtest(5, 12, 0.5).pvalue


def judge_summary(ci=(-1.0, 3.2)) -> dict:
    """A judge summary.json with every field `build_summary` writes."""
    return {
        "judge": "smollm2-135m-instruct", "mode": "logits",
        "keys": {
            "response_before": {"n": 24, "n_scored": 24, "mean": 31.9, "median": 31.0, "std": 4.1, "ci95": [30.2, 33.5],
                                "reference": {"exact_match": 0.0, "token_f1": 0.211, "rouge_l": 0.187, "n": 24, "note": None}},
            "response_after": {"n": 24, "n_scored": 24, "mean": 33.1, "median": 33.4, "std": 4.6, "ci95": [31.4, 34.9],
                               "reference": {"exact_match": 13 / 24, "token_f1": 0.702, "rouge_l": 0.688, "n": 24, "note": None}},
        },
        "paired": {"a": "response_before", "b": "response_after", "n": 24, "mean_diff": 1.2, "ci95": list(ci),
                   "wins": 14, "ties": 1, "losses": 9, "tie_margin": 0.5, "wilcoxon_p": 0.12,
                   "reference": {"exact_match": {**EM, "mcnemar_p": EM_P},
                                 "rouge_l": {"n": 24, "mean_diff": 0.501, "wilcoxon_p": 1.8e-05}},
                   "mcnemar_p": EM_P},
        "reliability": {"n": 48, "auroc_exact_match": 0.69, "auroc_ci95": [0.52, 0.84], "spearman_rouge_l": 0.31,
                        "spearman_length": -0.12, "valid_mass_median": 0.005, "n_unparsed": 0, "verdict": "weak",
                        "sentence": "this judge separates correct from incorrect answers with AUROC 0.69 (CI 0.52-0.84): "
                                    "weak, treat its scores with care, or use a stronger judge"},
    }


def mmlu_block() -> dict:
    per_subject = {"mmlu_marketing": {"n": 50, "acc_a": 0.3, "stderr_a": 0.0656, "acc_b": 0.28, "stderr_b": 0.0641,
                                      "chance": 0.25},
                   "mmlu_philosophy": {"n": 50, "acc_a": 0.24, "stderr_a": 0.0610, "acc_b": 0.22, "stderr_b": 0.0592,
                                       "chance": 0.25}}
    accuracy = {m: {t: {"acc": s[f"acc_{x}"], "stderr": s[f"stderr_{x}"], "n": 50} for t, s in per_subject.items()}
                for m, x in (("base", "a"), ("finetuned", "b"))}
    return {"models": ["base", "finetuned"], "accuracy": accuracy, "note": None,
            "paired": {"a": "base", "b": "finetuned", **MMLU_COUNTS, "mcnemar_p": MMLU_P, "acc_a": 0.27,
                       "stderr_a": 0.0446, "acc_b": 0.25, "stderr_b": 0.0437, "chance": 0.25, "per_subject": per_subject}}


def classify_block() -> dict:
    run = {"n": 40, "shots": 4, "prompt": "cola", "labels": ["acceptable", "unacceptable"]}
    return {"before": {**run, "accuracy": 0.525, "mcc": 0.071, "confusion_matrix": [[12, 8], [11, 9]]},
            "after": {**run, "accuracy": 0.75, "mcc": 0.452, "confusion_matrix": [[15, 5], [5, 15]]},
            "paired": {"n": 40, "both": 20, "only_a": 1, "only_b": 10, "neither": 9,
                       "mcnemar_p": binomtest(10, 11, 0.5).pvalue}}


def fixture_results(run_dir: Path) -> dict:
    """A results.json as `collect` writes it, every field filled, plus a loss curve on disk."""
    series = {"train_loss": [(float(s), 2.0 - s / 40) for s in range(1, 49)], "val_loss": [(12.0, 1.9), (48.0, 1.1)]}
    plot_finetune_loss(series, run_dir / "loss.png", final_val=1.083)
    results = {
        "name": "fixture", "recipe": "recipes/pipelines/quickstart.yaml",
        "settings": {"finetune": {"uses": "finetune_lora", "with": {"lora_r": 8, "train": {"max_steps": 48}}},
                     "judge": {"uses": "judge", "with": {"keys": ["response_before", "response_after"]}}},
        "timings": {"finetune": {"seconds": 201.4, "reused": False}, "judge": {"seconds": 30.2, "reused": True}},
        "total_seconds": 231.6, "images": {"loss": "loss.png"},
        "finetune": {"series": {"train_loss": {"first": 1.975, "last": 0.8, "first_mean": 1.95, "last_mean": 0.85,
                                               "n": 48, "last_step": 48.0},
                                "val_loss": {"first": 1.9, "last": 1.1, "first_mean": 1.9, "last_mean": 1.5, "n": 2,
                                             "last_step": 48.0}},
                     "final_val_loss": 1.083, "metrics_csv": "finetune/metrics.csv"},
        "judge": judge_summary(), "mmlu": mmlu_block(), "classify": classify_block(),
        "examples": [{"instruction": "Convert 12 liters to milliliters.", "input": "", "expected": "12000 milliliters",
                      "responses": {"response_before": {"text": "12 liters is 1200 milliliters | roughly <b>", "score": 41.3,
                                                        "exact_match": False, "rouge_l": 0.5},
                                    "response_after": {"text": "12 liters = 12 * 1000 = 12000 milliliters",
                                                       "score": 36.8, "exact_match": True, "rouge_l": 0.6}}}],
    }
    results["verdict"] = build_verdict(results)
    return results


def sections_in_order(text: str, names: list[str]) -> bool:
    positions = [text.index(name) for name in names]
    return positions == sorted(positions)


def test_verdict_leads_with_reference_metrics_and_says_the_judge_disagrees():
    v = build_verdict({"judge": judge_summary(), "mmlu": mmlu_block(), "classify": classify_block()})
    em = v["findings"][0]
    assert v["lead"] == "reference" and em["measure"] == "exact match" and em["change"] == "better"
    assert em["detail"] == "0/24 → 13/24" and em["p"] == pytest.approx(EM_P, abs=1e-12)
    assert v["headline"].startswith("Finetuning helped: exact match") and "13/24" in v["headline"]
    assert v["headline"].endswith("Also clearly better: ROUGE-L, classification.")
    assert "disagree" in v["disagreement"] and "exact match says better" in v["disagreement"] and "weak" in v["disagreement"]
    judge = next(f for f in v["findings"] if f["measure"] == "judge score")
    assert judge["change"] == "no clear change" and judge["ci95"] == [-1.0, 3.2]
    mmlu = next(f for f in v["findings"] if f["measure"] == "MMLU accuracy")
    assert mmlu["change"] == "no clear change" and mmlu["p"] == pytest.approx(MMLU_P) and mmlu["detail"] == "27/100 → 25/100"
    cls = next(f for f in v["findings"] if f["measure"] == "classification")
    assert cls["change"] == "better" and cls["p"] < 0.05
    assert v["reliability"].startswith("this judge separates") and v["missing"] == []


def test_verdict_when_judge_agrees_or_reference_is_absent():
    agreeing = build_verdict({"judge": judge_summary(ci=(0.4, 2.1))})
    assert agreeing["disagreement"] is None and agreeing["lead"] == "reference"
    bare = judge_summary()
    for key in bare["keys"].values():
        del key["reference"]
    del bare["paired"]["reference"], bare["paired"]["mcnemar_p"], bare["reliability"]
    v = build_verdict({"judge": bare})
    assert v["lead"] == "judge" and v["headline"].startswith("No clear effect of finetuning: the judge")
    assert v["missing"] == ["reference metrics", "MMLU paired comparison"] and v["reliability"] is None
    assert build_verdict({})["headline"].startswith("Nothing in this run compares")


def test_report_renders_from_results_json_with_its_numbers_in_both_files(tmp_path):
    results = fixture_results(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(results))
    paths = write_report(tmp_path, from_results=True)
    md, page = paths["report_md"].read_text(), paths["report_html"].read_text()
    numbers = ["13/24", f"{EM_P:.2g}", "31.9", "33.1", "[-1.0, 3.2]", "AUROC 0.69", "0.542", "0.688", "0.270 ± 0.045",
               "0.250 ± 0.044", f"{MMLU_P:.2g}", "0.300 ± 0.066", "0.452", "0.071", "15 5 / 5 15", "1.083", "201.4",
               "231.6", "12000 milliliters", "judge 41.3"]
    for number in numbers:
        assert number in md, number
        assert number in page, number
    order = ["Verdict", "Judge (", "MMLU", "Classification", "Example responses", "Finetuning curve", "Settings"]
    assert sections_in_order(md, [f"## {n}" for n in order])
    assert sections_in_order(page, [f"<h2>{n}" if n != "Verdict" else '<h2 style="border:0;margin-top:.3em">Verdict'
                                    for n in order[:-1]] + ["<summary>Settings"])
    assert "1200 milliliters \\| roughly <b>" in md  # a pipe escaped once in the Markdown table cell
    assert "1200 milliliters | roughly &lt;b&gt;" in page and "\\|" not in page  # HTML: escaped by Jinja, no Markdown left
    assert "<details>" in page and page.index("<details>") < page.index("lora_r=8")
    assert page.count("data:image/png;base64,") == 1 and "(loss.png)" in md
    assert json.loads((tmp_path / "results.json").read_text()) == results  # rendering leaves results.json as it was


def test_loss_curve_skips_litgpt_final_validation_row(tmp_path):
    path = tmp_path / "metrics.csv"
    rows = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}, {"step": 2, "val_loss": 1.7}, {"step": 3, "loss": 1.2},
            {"step": 0, "val_loss": 1.4}]  # LitGPT logs its final validation with step 0, last
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "loss", "val_loss"])
        writer.writeheader()
        writer.writerows(rows)
    series, final_val = read_losses(path)
    assert series == {"loss": [(1.0, 2.0), (2.0, 1.5), (3.0, 1.2)], "val_loss": [(2.0, 1.7)]} and final_val == 1.4


def write_run(tmp_path: Path) -> Path:
    """A finished run folder (pipeline.json and step outputs) with finetune, respond, judge, mmlu and two classify steps."""
    run = tmp_path / "run"
    (run / "judge").mkdir(parents=True)
    with open(run / "metrics.csv", "w", newline="") as f:
        f.write("step,loss,val_loss\n1,2.0,\n2,1.6,\n2,,1.8\n0,,1.5\n")
    entries = [{"instruction": f"q{i}", "input": "", "output": f"a{i}", "response_before": f"b{i}",
                "response_after": f"a{i}"} for i in range(6)]
    (run / "responses.json").write_text(json.dumps(entries))
    summary = judge_summary()
    (run / "judge" / "summary.json").write_text(json.dumps(summary))
    with open(run / "judge" / "scores.jsonl", "w") as f:
        for i in range(6):
            for key, score in (("response_before", 30.0 + i), ("response_after", 40.0 + i)):
                f.write(json.dumps({"id": i, "key": key, "score": score, "exact_match": key == "response_after"}) + "\n")
    (run / "mmlu.json").write_text(json.dumps({"models": ["base", "finetuned"], **mmlu_block()}))
    gold = ["acceptable", "unacceptable"] * 5
    runs = {"cls_before": [True, False, True, False, False, True, False, False, True, True],
            "cls_after": [True, True, True, True, False, True, True, True, False, True]}
    for name, correct in runs.items():
        items = [{"index": i, "gold": g, "pred": g if c else "x", "correct": c} for i, (g, c) in enumerate(zip(gold, correct))]
        (run / f"{name}.json").write_text(json.dumps({"n": 10, "shots": 2, "prompt": "cola", "labels": gold[:2],
                                                      "accuracy": sum(correct) / 10, "mcc": 0.1, "per_item": items,
                                                      "confusion_matrix": [[1, 2], [3, 4]]}))
    steps = {
        "respond_after": {"uses": "respond", "outputs": {"data": str(run / "responses.json"), "key": "response_after"}},
        "finetune": {"uses": "finetune_lora", "outputs": {"metrics": str(run / "metrics.csv")}},
        "judge": {"uses": "judge", "outputs": {"summary": str(run / "judge" / "summary.json"), "out_dir": str(run / "judge")}},
        "mmlu": {"uses": "mmlu", "outputs": {"summary": str(run / "mmlu.json"), "results": {}}},
        "cls_before": {"uses": "classify", "outputs": {"results": str(run / "cls_before.json")}},
        "cls_after": {"uses": "classify", "outputs": {"results": str(run / "cls_after.json")}},
    }
    log = {"name": "t", "recipe": "r.yaml", "steps": {n: {**s, "with": {}, "seconds": 1.0, "reused": False}
                                                      for n, s in steps.items()}}
    (run / "pipeline.json").write_text(json.dumps(log))
    return run, runs


def test_collect_pairs_classify_runs_and_keeps_examples(tmp_path):
    run, runs = write_run(tmp_path)
    results = collect(run)
    before, after = runs["cls_before"], runs["cls_after"]
    counts = {"both": sum(a and b for a, b in zip(before, after)), "only_a": sum(a and not b for a, b in zip(before, after)),
              "only_b": sum(b and not a for a, b in zip(before, after))}
    paired = results["classify"]["paired"]
    assert {k: paired[k] for k in counts} == counts == {"both": 4, "only_a": 1, "only_b": 4}
    assert paired["mcnemar_p"] == pytest.approx(binomtest(4, 5, 0.5).pvalue, abs=1e-12)
    assert results["mmlu"]["paired"]["n"] == 100 and results["finetune"]["final_val_loss"] == 1.5
    assert results["finetune"]["series"]["val_loss"]["n"] == 1  # the step-0 row is not a point of the curve
    assert len(results["examples"]) == 4 and results["examples"][1]["responses"]["response_after"] == {
        "text": "a1", "score": 41.0, "exact_match": True, "rouge_l": None}
    assert [f["measure"] for f in results["verdict"]["findings"]] == [
        "exact match", "ROUGE-L", "judge score", "MMLU accuracy", "classification"]
    paths = write_report(run)
    assert (run / "loss.png").is_file() and "Classification" in paths["report_md"].read_text()


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(chromium() is None, reason="no Chromium installed (apt-get install chromium)")
def test_report_html_screenshot_is_not_blank(tmp_path):
    from PIL import Image

    results = fixture_results(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(results))
    page = write_report(tmp_path, from_results=True)["report_html"]
    shot = tmp_path / "shot.png"
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1100,1400", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("L")
    pixels = list(image.getdata())
    dark = sum(p < 128 for p in pixels) / len(pixels)  # text, rules, the plot
    assert image.size == (1100, 1400) and 0.01 < dark < 0.5, dark
    assert len(set(pixels)) > 32  # more than a flat page: anti-aliased text and the verdict box
    assert math.isclose(sum(pixels) / len(pixels), 255, abs_tol=60)  # mostly white page, but not only white
