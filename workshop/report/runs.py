"""One run's measures item by item, whatever wrote it: a pipeline folder, a judge, MMLU or classify output.

`workshop compare` pairs runs on the items they share, so every run is read into the same
shape: per measure, a value for each item (keyed by the item's content, so two runs on the
same test set line up and runs on different sets do not), the run's summary figure, and the
settings it ran with. A run's own model is the last one it measured: the judge's last key
(`response_after`), MMLU's last model (`finetuned`), the last classify step.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.io import iter_jsonl, read_json, read_records
from workshop.report.loss import read_losses
from workshop.report.render import flatten

# measure -> (label, kind, higher is better); "binary": right/wrong per item, "score": a number per item,
# "value": one number for the run (no items to pair)
MEASURES = {
    "exact_match": ("exact match", "binary", True),
    "token_f1": ("token F1", "score", True),
    "rouge_l": ("ROUGE-L", "score", True),
    "judge": ("judge score", "score", True),
    "mmlu": ("MMLU accuracy", "binary", True),
    "mcc": ("MCC", "binary", True),
    "final_val_loss": ("final validation loss", "value", False),
}


@dataclass
class Measure:
    """One measure of a run: per-item values (item key -> 0/1 or score) and the run's figure with its spread."""

    name: str
    values: dict[str, float]
    figure: float | None
    spread: Any = None  # a 95 % CI [low, high] (judge) or a standard error (MMLU)
    context: str = ""  # what must match for two runs to be compared (the judge and its mode)


@dataclass
class Run:
    """A run as `compare` sees it: where it is, what it ran with, its measures and its test items."""

    name: str
    path: Path
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> instruction, input, reference, response


def item_key(*parts: Any) -> str:
    """A short stable key for an item's content: the same question in two runs gets the same key."""
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def judge_measures(run: Run, judge_dir: Path, data: Path | None) -> None:
    """exact match, token F1, ROUGE-L and the judge's score of the run's response key, item by item."""
    summary = read_json(judge_dir / "summary.json")
    keys = list(summary.get("keys") or {})
    if not keys:
        raise WorkshopError(f"{judge_dir / 'summary.json'}: no keys scored; is this a judge output?")
    key = (summary.get("paired") or {}).get("b") or keys[-1]
    entries = read_records(data) if data and data.is_file() else []
    by_id = {e.get("id", i): e for i, e in enumerate(entries)}
    values: dict[str, dict[str, float]] = {m: {} for m in ("exact_match", "token_f1", "rouge_l", "judge")}
    for record in iter_jsonl(judge_dir / "scores.jsonl"):
        if record.get("key") != key:
            continue
        entry = by_id.get(record["id"])
        ident = (item_key(entry.get("instruction", ""), entry.get("input", ""), entry.get("output", ""))
                 if entry else f"id:{record['id']}")
        if entry:
            run.items[ident] = {"instruction": entry.get("instruction", ""), "input": entry.get("input", ""),
                                "reference": entry.get("output", ""), "response": str(entry.get(key, ""))}
        for name in ("exact_match", "token_f1", "rouge_l"):
            if record.get(name) is not None:
                values[name][ident] = float(record[name])
        if record.get("score") is not None:
            values["judge"][ident] = float(record["score"])
    stats = summary["keys"][key]
    reference = stats.get("reference") or {}
    context = f"{summary.get('judge')} ({summary.get('mode')})"
    for name in ("exact_match", "token_f1", "rouge_l"):
        if values[name]:
            run.measures[name] = Measure(name, values[name], reference.get(name, mean(list(values[name].values()))))
    if values["judge"]:
        run.measures["judge"] = Measure("judge", values["judge"], stats.get("mean"), stats.get("ci95"), context)
    run.settings.update({"judge": summary.get("judge"), "judge_mode": summary.get("mode"), "response_key": key})


def mmlu_measure(run: Run, results_file: Path) -> None:
    """MMLU right/wrong per question (task, doc id and question hash), accuracy ± standard error."""
    from workshop.evals.mmlu_paired import accuracy_stderr

    results = read_json(results_file)
    table = (results.get("workshop") or {}).get("per_question")
    if not table:
        raise WorkshopError(f"{results_file}: no per-question outcomes (`workshop eval mmlu` writes them); "
                            "evaluate the model again with workshop to compare it")
    values = {f"{task}/{i}/{h}": float(c) for task, t in table.items()
              for i, c, h in zip(t["doc_id"], t["correct"], t["doc_hash"])}
    acc, se = accuracy_stderr([v == 1.0 for v in values.values()])
    run.measures["mmlu"] = Measure("mmlu", values, acc, se)
    run.settings["mmlu_tasks"] = ",".join(sorted(table))


def classify_measure(run: Run, classify_json: Path) -> None:
    """Label classification: right/wrong per item (index and sentence), MCC as the run's figure."""
    result = read_json(classify_json)
    if not isinstance(result, dict) or not isinstance(result.get("per_item"), list):
        raise WorkshopError(f"{classify_json}: no per_item list; pass a classify.json written by `workshop eval classify`")
    predictions = classify_json.parent / "predictions.jsonl"
    texts = {p["index"]: p.get("text", "") for p in iter_jsonl(predictions)} if predictions.is_file() else {}
    values = {item_key(item["index"], texts.get(item["index"], item.get("gold"))): float(item["correct"])
              for item in result["per_item"]}
    run.measures["mcc"] = Measure("mcc", values, result.get("mcc"))
    run.settings.update({"classify_prompt": result.get("prompt"), "classify_shots": result.get("shots")})


def pipeline_run(run: Run) -> None:
    """Every measure of a pipeline folder, from the steps recorded in its pipeline.json."""
    log = read_json(run.path / "pipeline.json")
    done = [s for s in log.get("steps", {}).values() if s.get("outputs")]
    for name, step in log.get("steps", {}).items():
        run.settings.update(flatten(step.get("with") or {}, f"{name}."))
    respond = [s for s in done if s["uses"] == "respond"]
    for step in (s for s in done if s["uses"] == "judge"):
        data = Path(respond[-1]["outputs"]["data"]) if respond else None
        judge_measures(run, Path(step["outputs"]["out_dir"]), data)
    for step in (s for s in done if s["uses"] == "mmlu" and "results" in s["outputs"]):
        mmlu_measure(run, Path(list(step["outputs"]["results"].values())[-1]))
    classify = [s for s in done if s["uses"] == "classify" and Path(s["outputs"].get("results", "")).is_file()]
    if classify:
        classify_measure(run, Path(classify[-1]["outputs"]["results"]))
    for step in (s for s in done if s["uses"] == "finetune_lora"):
        metrics = step["outputs"].get("metrics")
        loss = read_losses(Path(metrics))[1] if metrics and Path(metrics).is_file() else None
        if loss is not None:
            run.measures["final_val_loss"] = Measure("final_val_loss", {}, float(loss))


def judge_data_file(judge_dir: Path) -> Path | None:
    """The responses file a bare judge output scored: `judge` writes into `<data dir>/<data stem>-judge`."""
    if not judge_dir.name.endswith("-judge"):
        return None
    stem = judge_dir.name[: -len("-judge")]
    return next((p for p in (judge_dir.parent / f"{stem}{ext}" for ext in (".json", ".jsonl")) if p.is_file()), None)


def read_run(path: str | Path, name: str | None = None) -> Run:
    """A run from a pipeline folder (pipeline.json), a judge folder (summary.json + scores.jsonl),
    an MMLU results.json (or its folder), or a classify.json (or its folder)."""
    path = Path(path)
    if not path.exists():
        raise WorkshopError(f"{path}: no such file or folder; give a run folder (e.g. out/quickstart)")
    folder = path if path.is_dir() else path.parent
    run = Run(name or (path.name if path.is_dir() else f"{folder.name}/{path.name}"), folder, "")
    if path.is_dir() and (path / "pipeline.json").is_file():
        run.kind = "pipeline"
        pipeline_run(run)
    elif path.is_dir() and (path / "scores.jsonl").is_file() and (path / "summary.json").is_file():
        run.kind = "judge"
        judge_measures(run, path, judge_data_file(path))
    elif (path.name == "classify.json" and path.is_file()) or (path / "classify.json").is_file():
        run.kind = "classify"
        classify_measure(run, path if path.is_file() else path / "classify.json")
    elif (path.suffix == ".json" and path.is_file()) or (path / "results.json").is_file():
        run.kind = "mmlu"
        mmlu_measure(run, path if path.is_file() else path / "results.json")
    else:
        raise WorkshopError(f"{path}: not a run (no pipeline.json, judge summary.json + scores.jsonl, MMLU "
                            "results.json or classify.json); point at a run's output folder")
    if not run.measures:
        raise WorkshopError(f"{path}: this {run.kind} run has no finished measure to compare yet; let it finish")
    return run
