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

from workshop.types import ExistingFile, NonNegativeInt, PositiveInt
from workshop.errors import WorkshopError
from workshop.evals.classify_data import label_words, read_labelled
from workshop.evals.metrics import accuracy_from_matrix, confusion_matrix, mcc_from_matrix
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


def build_prompt(template: PromptTemplate, words: list[str], shots: list[tuple[str, str]], text: str) -> str:
    """Instruction, K filled-in examples, then the query for `text`."""
    labels = ", ".join(words[:-1]) + " or " + words[-1]
    examples = "".join(fill(template.example, text=t, label=w) for t, w in shots)
    return fill(template.instruction, labels=labels) + examples + fill(template.query, text=text)


def pick_shots(rows: list[tuple[str, str]], k: int, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """K examples taken round-robin over the labels (seeded), and the rows left to evaluate."""
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
    taken = set(chosen)
    return [rows[i] for i in chosen], [r for i, r in enumerate(rows) if i not in taken]


def label_tokens(encode: Callable[[str], list[int]], prompt: str, words: list[str]) -> tuple[list[int], list[int]]:
    """Context ids (prompt without trailing spaces) and the first token of each label word after it."""
    context = prompt.rstrip(" ")
    context_ids = encode(context)
    firsts = []
    for word in words:
        whole = encode(prompt + word)
        if whole[: len(context_ids)] == context_ids and len(whole) > len(context_ids):
            firsts.append(whole[len(context_ids)])
        else:  # the boundary merged into one token: score the label on its own
            firsts.append(encode(prompt[len(context) :] + word)[0])
    if len(set(firsts)) < len(firsts):
        raise WorkshopError(f"--labels {', '.join(words)}: label words start with the same token; pick words that differ at the start")
    return context_ids, firsts


def classify(
    model_dir: str,
    data: ExistingFile,
    labels: str,
    prompt: str = "default",
    shots: NonNegativeInt = 4,
    shots_data: ExistingFile | None = None,
    batch_size: PositiveInt = 8,
    seed: int = 0,
    limit: PositiveInt | None = None,
    text_field: str | None = None,
    label_field: str = "label",
    device: str | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Few-shot label-word classification: accuracy, MCC and confusion matrix from the model's own head.

    The label word whose first token scores higher at the last position is the prediction.
    Few-shot examples come from `shots_data` when given, else from `data` (and are then not scored).

    Args:
        model_dir: checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct
        data: .tsv (CoLA layout as is, or with a header), .csv or .jsonl of labelled sentences
        labels: label words, e.g. 'acceptable,unacceptable' (0/1 data: 1 = first) or '1=yes,0=no'
        prompt: template name in evals/classify/ (default, cola, sentiment) or a YAML path
        shots: labelled examples in the prompt, taken from shots_data or data
        shots_data: file to take the examples from (default: data, and those rows are not scored)
        batch_size: sequences per forward pass
        seed: seed for picking the examples
        limit: score only the first N rows
        text_field: text column/key (default: sentence or text)
        label_field: label column/key
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        out_dir: folder for classify.json and predictions.jsonl
    """
    import workshop
    from workshop.checkpoints import resolve_checkpoint
    from workshop.engine import tail_logits

    template = load_template(prompt)
    raw = read_labelled(data, text_field, label_field)
    mapping = label_words([label for _, label in raw], labels)
    rows = [(text, mapping[label]) for text, label in raw]
    if shots_data is not None:
        pool = read_labelled(shots_data, text_field, label_field)
        shot_map = label_words([label for _, label in pool], labels)
        examples, _ = pick_shots([(t, shot_map[label]) for t, label in pool], shots, seed)
    else:
        examples, rows = pick_shots(rows, shots, seed)
    rows = rows[:limit] if limit is not None else rows
    if not rows:
        raise WorkshopError(f"{data}: no rows left to score after taking {shots} shots; add data or lower --shots")
    words = list(dict.fromkeys(mapping.values()))
    loaded = workshop.load(resolve_checkpoint(model_dir), device=device)
    predictions = []
    for start in tqdm(range(0, len(rows), batch_size), desc="classify", unit="batch"):
        batch = rows[start : start + batch_size]
        encoded = [label_tokens(loaded.encode, build_prompt(template, words, examples, text), words) for text, _ in batch]
        logits = tail_logits(loaded.model, [ids for ids, _ in encoded], [1] * len(batch))
        for (text, gold), (_, firsts), row in zip(batch, encoded, logits):
            scores = {w: float(row[-1, t]) for w, t in zip(words, firsts)}
            predictions.append({"text": text, "label": gold, "predicted": max(scores, key=scores.get), "scores": scores})
    matrix = confusion_matrix([p["label"] for p in predictions], [p["predicted"] for p in predictions], words)
    result = {
        "model": str(model_dir), "data": str(data), "prompt": prompt, "labels": words, "label_map": mapping,
        "shots": len(examples), "examples": [list(e) for e in examples], "n": len(predictions), "accuracy": accuracy_from_matrix(matrix),
        "mcc": mcc_from_matrix(matrix), "confusion_matrix": matrix,
    }
    if out_dir is not None:
        atomic_write_json(Path(out_dir) / "classify.json", result)
        atomic_write_jsonl(Path(out_dir) / "predictions.jsonl", predictions)
    return {**result, "predictions": predictions}
