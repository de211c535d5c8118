"""Few-shot classification with an LLM's own head: the label word whose first token scores higher wins.

The prompt (a template from `evals/classify/`) shows K labelled examples and ends in a
pattern like "sentence - "; the model's logits at that last position are compared on
the first token of each label word. Scored by accuracy, MCC and a confusion matrix.
Trailing spaces of the prompt are moved in front of the label word before tokenizing
(" acceptable" is one token, while a prompt ending in a lone space is an odd one).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from tqdm.auto import tqdm

from workshop.types import ExistingFile, NonNegativeInt, OutputDir, PositiveInt
from workshop.errors import WorkshopError
from workshop.evals.classify_data import label_words, read_labelled
from workshop.evals.metrics import accuracy, confusion_matrix, mcc
from workshop.io import atomic_write_json, atomic_write_jsonl
from workshop.paths import EVALS_DIR

TEMPLATES_DIR = EVALS_DIR / "classify"


@dataclass
class PromptTemplate:
    """Instruction (with {labels}), one example ({text}, {label}) and the query ({text})."""

    instruction: str
    example: str
    query: str


def load_template(name_or_path: str) -> PromptTemplate:
    """A template by file path or by name in evals/classify/ (e.g. "cola")."""
    path = Path(name_or_path)
    if not path.is_file():
        path = TEMPLATES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml")))
        raise WorkshopError(f"--prompt {name_or_path!r}: no such file or template; use a path or one of: {names}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in ("instruction", "example", "query") if not isinstance(data.get(k), str)]
    if missing:
        raise WorkshopError(f"{path}: missing string key(s) {', '.join(missing)}; see evals/classify/default.yaml")
    return PromptTemplate(data["instruction"], data["example"], data["query"])


def fill(pattern: str, **values: str) -> str:
    """Replace {name} placeholders (plain replace: braces in sentences stay as they are)."""
    for key, value in values.items():
        pattern = pattern.replace("{" + key + "}", value)
    return pattern


def label_list(words: list[str], quote: bool = False) -> str:
    """The label words as the instruction names them: "a, b or c" (each in double quotes with `quote`)."""
    shown = [f'"{w}"' if quote else w for w in words]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def build_prompt(template: PromptTemplate, words: list[str], shots: list[tuple[str, str]], text: str,
                 quote: bool = False) -> str:
    """Instruction, K filled-in examples, then the query for `text`.

    With `quote` the label words appear in double quotes ("acceptable") and the query ends in
    the opening quote, so the scored token is still the label word's first token.
    """
    q = '"' if quote else ""
    examples = "".join(fill(template.example, text=t, label=f"{q}{w}{q}") for t, w in shots)
    return fill(template.instruction, labels=label_list(words, quote)) + examples + fill(template.query, text=text) + q


def shot_indices(rows: list[tuple[str, str]], k: int, seed: int) -> list[int]:
    """Indices of K examples taken round-robin over the labels (seeded)."""
    by_label: dict[str, list[int]] = {}
    for i, (_, word) in enumerate(rows):
        by_label.setdefault(word, []).append(i)
    rng = random.Random(seed)
    for indices in by_label.values():
        rng.shuffle(indices)
    chosen: list[int] = []
    while len(chosen) < k and any(by_label.values()):
        for word in sorted(by_label):
            if by_label[word] and len(chosen) < k:
                chosen.append(by_label[word].pop())
    if len(chosen) < k:
        raise WorkshopError(f"--shots {k}: only {len(rows)} labelled rows; lower --shots or add data")
    return chosen


def pick_shots(rows: list[tuple[str, str]], k: int, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """K examples taken round-robin over the labels (seeded), and the rows left to evaluate."""
    chosen = shot_indices(rows, k, seed)
    taken = set(chosen)
    return [rows[i] for i in chosen], [r for i, r in enumerate(rows) if i not in taken]


def label_continuation(encode: Callable[..., list[int]], prompt: str, word: str) -> tuple[list[int], list[int]]:
    """Context ids (the prompt without trailing spaces) and the ids of the label word after it.

    The trailing spaces move in front of the word (" acceptable" is one token, a lone space an
    odd one). `encode(text)` encodes a prompt, `encode(text, bos=False)` a piece of text.
    """
    context = prompt.rstrip(" ")
    context_ids = encode(context)
    whole = encode(prompt + word)
    if whole[: len(context_ids)] == context_ids and len(whole) > len(context_ids):
        return context_ids, whole[len(context_ids) :]
    return context_ids, encode(prompt[len(context) :] + word, bos=False)  # the boundary merged: the word on its own


def label_tokens(encode: Callable[..., list[int]], prompt: str, words: list[str]) -> tuple[list[int], list[int]]:
    """Context ids (prompt without trailing spaces) and the first token of each label word after it."""
    pairs = [label_continuation(encode, prompt, word) for word in words]
    firsts = [ids[0] for _, ids in pairs]
    if len(set(firsts)) < len(firsts):
        raise WorkshopError(f"--labels {', '.join(words)}: label words start with the same token; pick words that differ at the start")
    return pairs[0][0], firsts


def paired_with(baseline: Path, per_item: list[dict[str, Any]]) -> dict[str, Any]:
    """McNemar's test of this run against an earlier classify.json, item by item (matched by `index`)."""
    from workshop.io import read_json
    from workshop.stats import mcnemar

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


def labelled_rows(data: str | Path, labels: str, text_field: str | None = None,
                  label_field: str = "label") -> tuple[list[tuple[str, str]], list[str], dict[str, str]]:
    """(text, label word) per row of `data`, the label words in `--labels` order, and the raw-label mapping."""
    raw = read_labelled(data, text_field, label_field)
    mapping = label_words([label for _, label in raw], labels)
    words = list(dict.fromkeys(mapping.values()))
    return [(text, mapping[label]) for text, label in raw], words, mapping


def few_shot_examples(shots: int, seed: int, labels: str, rows: list[tuple[str, str]],
                      shots_data: str | Path | None = None, text_field: str | None = None,
                      label_field: str = "label") -> tuple[list[tuple[str, str]], set[int]]:
    """The K prompt examples (from `shots_data`, else from `rows`) and the indices of `rows` they used."""
    if shots == 0:
        return [], set()
    if shots_data is not None:
        pool, _, _ = labelled_rows(shots_data, labels, text_field, label_field)
        return [pool[i] for i in shot_indices(pool, shots, seed)], set()
    chosen = shot_indices(rows, shots, seed)
    return [rows[i] for i in chosen], set(chosen)


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
    from workshop.checkpoints import resolve_checkpoint
    from workshop.engine import tail_logits

    template = load_template(prompt)
    rows, words, mapping = labelled_rows(data, labels, text_field, label_field)
    examples, used = few_shot_examples(shots, seed, labels, rows, shots_data, text_field, label_field)
    scored = [(i, text, word) for i, (text, word) in enumerate(rows) if i not in used]
    scored = scored[:limit] if limit is not None else scored
    if not scored:
        raise WorkshopError(f"{data}: no rows left to score after taking {shots} shots; add data or lower --shots")
    loaded = workshop.load(resolve_checkpoint(model_dir), device=device)
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
