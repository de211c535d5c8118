"""Synthetic judge outputs and pipeline folders for tests and benchmarks of `compare` and the item explorer.

The files have the shapes `workshop judge` and a pipeline write; the summary's blocks come from
the judge's own `key_stats`, `paired_stats` and reference metrics (its reliability block, slow and
read by neither, is left out), so a figure on a page can be checked against the same numbers
computed another way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workshop.core.io import atomic_write_json, atomic_write_jsonl

WORDS = "the a model answer river city capital paris berlin blue green quick slow seven nine cat dog".split()


def instruction_items(n: int, seed: int = 0) -> list[dict]:
    """`n` instruction entries with a reference answer (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    return [{"id": i, "instruction": f"Question {i}: name the {WORDS[i % len(WORDS)]} thing.",
             "input": "" if i % 3 else f"context {i}", "output": " ".join(rng.choice(WORDS, 4))} for i in range(n)]


def judge_output(folder: Path, items: list[dict], skills: dict[str, float], seed: int,
                 judge: str = "synthetic-judge") -> Path:
    """`<folder>/responses.json` with one response per key and its judge output `<folder>/responses-judge`.

    A key's response is the reference with probability `skills[key]`, else a random phrase; the judge's
    score follows correctness with noise. With two keys the summary has the paired block. Returns the judge folder.
    """
    from workshop.core.stats import key_stats, paired_stats
    from workshop.judge.reference import paired_reference, reference_fields, reference_stats

    rng = np.random.default_rng(seed)
    entries = [dict(item) for item in items]
    records: dict[str, list[dict]] = {key: [] for key in skills}
    for entry in entries:
        for key, skill in skills.items():
            right = rng.random() < skill
            entry[key] = entry["output"] if right else " ".join(rng.choice(WORDS, 5))
            score = float(np.clip(rng.normal(70 if right else 40, 12), 0, 100))
            records[key].append({"id": entry["id"], "key": key, "score": score, "mode": "logits", "raw": None,
                                 "reason": None, "argmax": round(score), "valid_mass": 0.9, "prompt_hash": "synthetic",
                                 **reference_fields(entry[key], entry["output"])})
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "responses.json", entries)
    out = folder / "responses-judge"
    atomic_write_jsonl(out / "scores.jsonl", [r for rs in records.values() for r in rs])
    summary = {"judge": judge, "mode": "logits", "reference_key": "output", "notes": [],
               "keys": {key: {**key_stats([r["score"] for r in rs]), "reference": reference_stats(rs, "output")}
                        for key, rs in records.items()}}
    if len(skills) == 2:
        (a, ra), (b, rb) = records.items()
        summary["paired"] = {**paired_stats([r["score"] for r in ra], [r["score"] for r in rb], a, b),
                             "reference": paired_reference(ra, rb)}
    atomic_write_json(out / "summary.json", summary)
    return out


def judge_run(folder: Path, items: list[dict], skill: float, seed: int, judge: str = "synthetic-judge") -> Path:
    """A bare judge output of one key, `response_after`, over `items` (see `judge_output`)."""
    return judge_output(folder, items, {"response_after": skill}, seed, judge)


def judged_pipeline(folder: Path, items: list[dict], skills: dict[str, float], seed: int) -> Path:
    """A pipeline folder (pipeline.json with a respond and a judge step) over a synthetic judge output."""
    judge_dir = judge_output(folder / "judged", items, skills, seed)
    steps = {"respond_after": {"uses": "respond", "with": {"key": list(skills)[-1]},
                               "outputs": {"data": str(judge_dir.parent / "responses.json")}},
             "judge": {"uses": "judge", "with": {"keys": list(skills)},
                       "outputs": {"out_dir": str(judge_dir), "summary": str(judge_dir / "summary.json")}}}
    atomic_write_json(folder / "pipeline.json", {"name": folder.name, "recipe": "synthetic", "steps": steps})
    return folder
