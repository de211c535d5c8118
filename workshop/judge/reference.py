"""Reference metrics: how close each response is to the entry's correct answer, no judge needed.

A judge's score is an opinion; the reference answer (`output`, or `--reference-key`) is a fact
the same run can check. Each response gets

- `exact_match`: equal to the reference after normalising case, whitespace and final
  punctuation ("There are 10 coins." == "there are 10  coins");
- `token_f1`: SQuAD's token F1 (lower case, punctuation and articles removed, bag of words);
- `rouge_l`: ROUGE-L F-measure from the `rouge-score` package (longest common subsequence);
- `length`: the response's length in tokens (whitespace-separated words, so it does not
  depend on the judge's tokenizer), for the judge's length bias.

Entries without a reference get nulls (and the summary says how many), never an error.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np

from workshop.core.stats import mcnemar, wilcoxon_p

FINAL_PUNCTUATION = ".!?;:,"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def reference_of(entry: Mapping[str, Any], reference_key: str) -> str | None:
    """The entry's reference answer, or None when it has none (missing, null or not text)."""
    value = entry.get(reference_key)
    return value if isinstance(value, str) else None


def normalize(text: str) -> str:
    """Lower case, single spaces, no final punctuation: the form exact match compares."""
    return " ".join(text.lower().split()).rstrip(FINAL_PUNCTUATION + " ")


def exact_match(response: str, reference: str) -> bool:
    """True when `response` and `reference` are equal after `normalize`."""
    return normalize(response) == normalize(reference)


def squad_tokens(text: str) -> list[str]:
    """SQuAD v1.1's answer normalisation: lower case, no punctuation, no articles, then words."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return _ARTICLES.sub(" ", text).split()


def token_f1(response: str, reference: str) -> float:
    """SQuAD's token F1 of `response` against `reference` (1.0 when both are empty after normalising)."""
    pred, gold = squad_tokens(response), squad_tokens(reference)
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"])


def rouge_l(response: str, reference: str) -> float:
    """ROUGE-L F-measure of `response` against `reference` (the `rouge-score` package)."""
    return float(_rouge_scorer().score(reference, response)["rougeL"].fmeasure)


def length(response: str) -> int:
    """The response's length in tokens (whitespace-separated words)."""
    return len(response.split())


def reference_fields(response: str, reference: str | None) -> dict:
    """exact_match, token_f1, rouge_l (None without a reference) and length of one response."""
    if reference is None:
        return {"exact_match": None, "token_f1": None, "rouge_l": None, "length": length(response)}
    return {"exact_match": exact_match(response, reference), "token_f1": token_f1(response, reference),
            "rouge_l": rouge_l(response, reference), "length": length(response)}


def _mean(values: Sequence[Any]) -> float | None:
    return float(np.mean(np.asarray(values, dtype=np.float64))) if len(values) else None


def reference_stats(records: Sequence[dict], reference_key: str) -> dict:
    """Means of exact_match, token_f1, rouge_l over one key's records that have a reference."""
    have = [r for r in records if r["exact_match"] is not None]
    missing = len(records) - len(have)
    note = None
    if not have:
        note = f"no entry has a reference answer {reference_key!r} (--reference-key): reference metrics are null"
    elif missing:
        note = f"{missing} of {len(records)} entries have no {reference_key!r}: left out of these means"
    return {"exact_match": _mean([r["exact_match"] for r in have]), "token_f1": _mean([r["token_f1"] for r in have]),
            "rouge_l": _mean([r["rouge_l"] for r in have]), "n": len(have), "note": note}


def paired_reference(first: Sequence[dict], second: Sequence[dict]) -> dict:
    """McNemar's exact test on exact match and Wilcoxon on ROUGE-L, second key vs first, per entry."""
    pairs = [(x, y) for x, y in zip(first, second) if x["exact_match"] is not None and y["exact_match"] is not None]
    exact = mcnemar([x["exact_match"] for x, _ in pairs], [y["exact_match"] for _, y in pairs])
    if not pairs:
        exact["mcnemar_p"] = None  # nothing to test: no verdict either way
    diff = np.asarray([y["rouge_l"] - x["rouge_l"] for x, y in pairs], dtype=np.float64)
    return {"exact_match": exact,
            "rouge_l": {"n": int(diff.size), "mean_diff": float(diff.mean()) if diff.size else None,
                        "wilcoxon_p": wilcoxon_p(diff)}}
