"""Every figure of a finished pipeline run (`pipeline.json` + step folders) as one JSON-able dict: results.json.

The report is rendered from this dict alone, so `results.json` is the run's record: settings
and timings of every step, the finetuning curve's ends, the judge summary (`workshop.judge.summary`), the
MMLU accuracies and paired block (§3), classification before/after (§4), a few example
responses with their scores, and the verdict built from them (§2, `workshop.report.verdict`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop.core.io import iter_jsonl, read_json
from workshop.report.loss import loss_ends, read_losses

N_EXAMPLES = 4


def steps_of(log: dict, uses: str) -> list[dict]:
    """The finished steps of kind `uses`, in pipeline order."""
    return [s for s in log["steps"].values() if s["uses"] == uses and s.get("outputs")]


def relative(path: str | Path, run_dir: Path) -> str:
    """`path` relative to the run folder when inside it (so a moved run folder still renders), else as is."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        return str(path)


def finetune_block(step: dict, run_dir: Path) -> dict[str, Any] | None:
    """Loss series ends and the final validation loss of a finetune_lora step."""
    metrics = step["outputs"].get("metrics")
    if not metrics or not Path(metrics).is_file():
        return None
    series, final_val = read_losses(Path(metrics))
    return {"series": {col: loss_ends(points) for col, points in series.items()}, "final_val_loss": final_val,
            "metrics_csv": relative(metrics, run_dir)}


def judge_examples(judge_dir: Path, responses: Path, keys: list[str], n: int = N_EXAMPLES) -> list[dict[str, Any]]:
    """The first `n` test entries (not picked for effect) with each key's response, judge score and exact match."""
    entries = read_json(responses)[:n]
    scored: dict[tuple[Any, str], dict] = {}
    if (judge_dir / "scores.jsonl").is_file():
        for record in iter_jsonl(judge_dir / "scores.jsonl"):
            scored[(record.get("id"), record.get("key"))] = record
    examples = []
    for index, entry in enumerate(entries):
        ident = entry.get("id", index)
        responses_of = {}
        for key in keys:
            record = scored.get((ident, key), {})
            responses_of[key] = {"text": str(entry.get(key, "")), "score": record.get("score"),
                                 "exact_match": record.get("exact_match"), "rouge_l": record.get("rouge_l")}
        examples.append({"instruction": entry.get("instruction", ""), "input": entry.get("input", ""),
                         "expected": entry.get("output", ""), "responses": responses_of})
    return examples


def mmlu_block(step: dict) -> dict[str, Any]:
    """Accuracies per model (and the paired block) of an mmlu step: its compare summary, or one model's results."""
    outputs = step["outputs"]
    if "skipped" in outputs:
        return {"skipped": outputs["skipped"]}
    if outputs.get("summary") and Path(outputs["summary"]).is_file():
        summary = read_json(outputs["summary"])
        return {"models": summary["models"], "accuracy": summary["accuracy"], "paired": summary.get("paired"),
                "note": summary.get("note")}
    from workshop.evals.mmlu_paired import task_counts

    accuracy = {model: task_counts(read_json(path)) for model, path in outputs["results"].items()}
    return {"models": list(accuracy), "accuracy": accuracy, "paired": None, "note": None}


def classify_block(steps: list[dict]) -> dict[str, Any] | None:
    """The first and last classify steps paired by item index (McNemar on `correct`)."""
    from workshop.core.stats import mcnemar

    runs = [read_json(s["outputs"]["results"]) for s in steps if Path(s["outputs"].get("results", "")).is_file()]
    if not runs:
        return None
    shown = ("n", "shots", "prompt", "labels", "accuracy", "mcc", "confusion_matrix")
    block: dict[str, Any] = {"before": {k: runs[0].get(k) for k in shown}}
    if len(runs) < 2:
        return block
    block["after"] = {k: runs[-1].get(k) for k in shown}
    before = {item["index"]: item["correct"] for item in runs[0].get("per_item", [])}
    after = {item["index"]: item["correct"] for item in runs[-1].get("per_item", [])}
    common = sorted(set(before) & set(after))
    if common:
        block["paired"] = mcnemar([before[i] for i in common], [after[i] for i in common])
    return block


def collect(run_dir: Path) -> dict[str, Any]:
    """Every figure of a run as one JSON-able dict (the content of results.json), verdict included."""
    from workshop.report.explorer import from_judged
    from workshop.report.verdict import build_verdict

    run_dir = Path(run_dir)
    log = read_json(run_dir / "pipeline.json")
    results: dict[str, Any] = {"name": log.get("name"), "recipe": log.get("recipe"), "settings": {}, "timings": {},
                               "images": {}}
    for name, step in log["steps"].items():
        results["timings"][name] = {"seconds": round(step.get("seconds", 0.0), 1), "reused": step.get("reused", False)}
        results["settings"][name] = {"uses": step["uses"], "with": step["with"]}
    results["total_seconds"] = round(sum(t["seconds"] for t in results["timings"].values()), 1)
    for step in steps_of(log, "finetune_lora"):
        block = finetune_block(step, run_dir)
        if block:
            results["finetune"] = block
            results["images"]["loss"] = "loss.png"
    for step in steps_of(log, "judge"):
        judge_dir = Path(step["outputs"]["out_dir"])
        results["judge"] = read_json(step["outputs"]["summary"])
        results["images"].update({name: relative(judge_dir / f"{name}.png", run_dir) for name in ("scores", "paired")
                                  if (judge_dir / f"{name}.png").is_file()})
        responses = steps_of(log, "respond")
        if responses:  # the last respond step's file holds every key
            results["examples"] = judge_examples(judge_dir, Path(responses[-1]["outputs"]["data"]),
                                                 list(results["judge"]["keys"]))
            results["explorer"] = from_judged(Path(responses[-1]["outputs"]["data"]), judge_dir / "scores.jsonl",
                                              list(results["judge"]["keys"]))
    for step in steps_of(log, "mmlu"):
        results["mmlu"] = mmlu_block(step)
    classify = classify_block(steps_of(log, "classify"))
    if classify:
        results["classify"] = classify
    results["verdict"] = build_verdict(results)
    return results
