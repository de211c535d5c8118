"""Label-word prompts: a template (instruction, K examples, query), the few-shot picks and the
label word's tokens after the prompt — shared by `workshop eval classify` and the `LabelWords`
finetuning data, so both see exactly the same prompt.

Trailing spaces of the prompt are moved in front of the label word before tokenizing
(" acceptable" is one token, while a prompt ending in a lone space is an odd one).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from workshop.core.errors import WorkshopError
from workshop.core.paths import EVALS_DIR
from workshop.datasets.labelled import label_words, read_labelled

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
