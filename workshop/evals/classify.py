"""Few-shot classification with an LLM's own head: the label word whose first token scores higher wins.

The prompt (a template from `evals/classify/`, built by `workshop.datasets.label_prompts`) shows
K labelled examples and ends in a pattern like "sentence - "; the model's logits at that last
position are compared on the first token of each label word. Scored by accuracy, MCC and a
confusion matrix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from workshop.core.types import ExistingFile, NonNegativeInt, OutputDir, PositiveInt
from workshop.core.errors import WorkshopError
from workshop.datasets.label_prompts import build_prompt, few_shot_examples, label_tokens, labelled_rows, load_template
from workshop.evals.metrics import accuracy, confusion_matrix, mcc
from workshop.core.io import atomic_write_json, atomic_write_jsonl


def paired_with(baseline: Path, per_item: list[dict[str, Any]]) -> dict[str, Any]:
    """McNemar's test of this run against an earlier classify.json, item by item (matched by `index`)."""
    from workshop.core.io import read_json
    from workshop.core.stats import mcnemar

    before = read_json(baseline)
    if not isinstance(before, dict) or not isinstance(before.get("per_item"), list):
        raise WorkshopError(f"{baseline}: no per_item list; pass a classify.json written by `workshop eval classify`")
    earlier = {item["index"]: item["correct"] for item in before["per_item"]}
    shared = [item for item in per_item if item["index"] in earlier]
    if not shared:
        raise WorkshopError(f"{baseline}: no sentence in common with this run; classify the same --data file")
    test = mcnemar([earlier[item["index"]] for item in shared], [item["correct"] for item in shared])
    return {"baseline": str(baseline), "mcc_baseline": before.get("mcc"), "accuracy_baseline": before.get("accuracy"),
            **test}


def classify(
    model_dir: str,
    data: ExistingFile,
    labels: str,
    prompt: str = "default",
    shots: NonNegativeInt = 4,
    shots_data: ExistingFile | None = None,
    quote_labels: bool = False,
    batch_size: PositiveInt = 8,
    seed: int = 0,
    limit: PositiveInt | None = None,
    text_field: str | None = None,
    label_field: str = "label",
    device: str | None = None,
    compare_to: ExistingFile | None = None,
    out_dir: OutputDir | None = None,
) -> dict[str, Any]:
    """Few-shot label-word classification: accuracy, MCC and confusion matrix from the model's own head.

    The label word whose first token scores higher at the last position is the prediction.
    Few-shot examples come from `shots_data` when given, else from `data` (and are then not scored).
    Each scored row keeps its index in `data` (`per_item`), so two runs on the same file pair up.

    Args:
        model_dir: checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct
        data: .tsv (CoLA layout as is, or with a header), .csv or .jsonl of labelled sentences
        labels: label words, e.g. 'acceptable,unacceptable' (0/1 data: 1 = first) or '1=yes,0=no'
        prompt: template name in evals/classify/ (default, cola, pattern, sentiment) or a YAML path
        shots: labelled examples in the prompt, taken from shots_data or data
        shots_data: file to take the examples from (default: data, and those rows are not scored)
        quote_labels: show the label words in double quotes ("acceptable"); the query ends in the opening quote
        batch_size: sequences per forward pass
        seed: seed for picking the examples
        limit: score only the first N rows
        text_field: text column/key (default: sentence or text)
        label_field: label column/key
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        compare_to: an earlier classify.json on the same data: adds McNemar's test, item by item
        out_dir: folder for classify.json and predictions.jsonl
    """
    import workshop
    from workshop.models.engine import tail_logits

    template = load_template(prompt)
    rows, words, mapping = labelled_rows(data, labels, text_field, label_field)
    examples, used = few_shot_examples(shots, seed, labels, rows, shots_data, text_field, label_field)
    scored = [(i, text, word) for i, (text, word) in enumerate(rows) if i not in used]
    scored = scored[:limit] if limit is not None else scored
    if not scored:
        raise WorkshopError(f"{data}: no rows left to score after taking {shots} shots; add data or lower --shots")
    loaded = workshop.load(model_dir, device=device)
    predictions = []
    for start in tqdm(range(0, len(scored), batch_size), desc="classify", unit="batch"):
        batch = scored[start : start + batch_size]
        encoded = [label_tokens(loaded.encode, build_prompt(template, words, examples, text, quote_labels), words)
                   for _, text, _ in batch]
        logits = tail_logits(loaded.model, [ids for ids, _ in encoded], [1] * len(batch))
        for (index, text, gold), (_, firsts), row in zip(batch, encoded, logits):
            scores = {w: float(row[-1, t]) for w, t in zip(words, firsts)}
            predictions.append({"index": index, "text": text, "label": gold, "predicted": max(scores, key=scores.get),
                                "scores": scores})
    truth, predicted = [p["label"] for p in predictions], [p["predicted"] for p in predictions]
    per_item = [{"index": p["index"], "gold": p["label"], "pred": p["predicted"], "correct": p["label"] == p["predicted"]}
                for p in predictions]
    result: dict[str, Any] = {
        "model": str(model_dir), "data": str(data), "prompt": prompt, "quote_labels": quote_labels, "labels": words,
        "label_map": mapping, "shots": len(examples), "examples": [list(e) for e in examples], "n": len(predictions),
        "accuracy": accuracy(truth, predicted), "mcc": mcc(truth, predicted),
        "confusion_matrix": confusion_matrix(truth, predicted, words), "per_item": per_item,
    }
    if compare_to is not None:
        result["paired"] = paired_with(Path(compare_to), per_item)
    if out_dir is not None:
        atomic_write_json(Path(out_dir) / "classify.json", result)
        atomic_write_jsonl(Path(out_dir) / "predictions.jsonl", predictions)
    return {**result, "predictions": predictions}
