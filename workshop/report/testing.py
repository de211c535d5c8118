"""Synthetic judge outputs (responses file, scores.jsonl, summary.json) for tests and benchmarks of `compare`.

The files have the shapes `workshop judge` writes; the summary comes from the judge's own
`build_summary`, and exact match, token F1 and ROUGE-L from its own reference metrics, so a
compared figure can be checked against the same numbers computed another way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workshop.core.io import atomic_write_json, atomic_write_jsonl

WORDS = "the a model answer river city capital paris berlin blue green quick slow seven nine cat dog".split()


def test_items(n: int, seed: int = 0) -> list[dict]:
    """`n` instruction entries with a reference answer (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    return [{"id": i, "instruction": f"Question {i}: name the {WORDS[i % len(WORDS)]} thing.",
             "input": "" if i % 3 else f"context {i}", "output": " ".join(rng.choice(WORDS, 4))} for i in range(n)]


def judge_run(folder: Path, items: list[dict], skill: float, seed: int, key: str = "response_after",
              judge: str = "synthetic-judge") -> Path:
    """A bare judge output `<folder>/responses-judge` over `items`: a response is the reference with probability
    `skill`, else a random phrase; the judge's score follows correctness with noise. Returns the judge folder."""
    from workshop.judge.reference import reference_fields
    from workshop.judge.summary import build_summary

    rng = np.random.default_rng(seed)
    entries, records = [], []
    for item in items:
        right = rng.random() < skill
        response = item["output"] if right else " ".join(rng.choice(WORDS, 5))
        entries.append({**item, key: response})
        score = float(np.clip(rng.normal(70 if right else 40, 12), 0, 100))
        records.append({"id": item["id"], "key": key, "score": score, "mode": "logits", "raw": None, "reason": None,
                        "argmax": round(score), "valid_mass": 0.9, "prompt_hash": "synthetic",
                        **reference_fields(response, item["output"])})
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "responses.json", entries)
    out = folder / "responses-judge"
    atomic_write_jsonl(out / "scores.jsonl", records)
    atomic_write_json(out / "summary.json", build_summary(records, [key], judge, "logits"))
    return out
