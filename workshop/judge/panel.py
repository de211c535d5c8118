"""A panel of judges: each scores every response, the panel's score is their mean per item.

One judge's quirks (a position or length bias, a tokenizer that barely fits the score) weigh
less in a panel, and the judges' agreement says how subjective the scores are. Each judge runs
as a normal judge run in `out_dir/judges/<n>-<name>/` (its own scores, summary, plots and resume
cache); the panel's records hold the mean of the judges' scores per item (judges that gave no
score are left out of that item's mean) and every judge's own score. `summary["panel"]` lists
the judges with their summaries, the Spearman correlation of each pair of judges and
Krippendorff's alpha (interval level, from the `krippendorff` package) over all of them.
"""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from workshop.core.errors import WorkshopError
from workshop.judge.judges import Judge
from workshop.judge.pointwise import score_with
from workshop.judge.summary import build_summary, write_outputs


def judge_slug(index: int, name: str) -> str:
    """`<n>-<last part of the judge's name>`: a folder name per judge, unique by its position."""
    tail = re.sub(r"[^\w.-]+", "-", Path(str(name)).name).strip("-") or "judge"
    return f"{index + 1}-{tail}"


def krippendorff_alpha(matrix: np.ndarray) -> float | None:
    """Krippendorff's alpha (interval) of a (judges, items) matrix with nan where a judge gave no score."""
    import krippendorff

    usable = np.sum(~np.isnan(matrix), axis=0) >= 2  # an item needs two scores to say anything
    values = matrix[:, usable]
    if values.shape[1] < 2 or np.nanstd(values) == 0:
        return None
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement="interval"))


def judge_agreement(names: Sequence[str], matrix: np.ndarray) -> dict:
    """Spearman per pair of judges (items both scored) and Krippendorff's alpha over the panel."""
    from workshop.judge.reliability import spearman_rho

    pairs = []
    for i, j in combinations(range(len(names)), 2):
        both = ~np.isnan(matrix[i]) & ~np.isnan(matrix[j])
        pairs.append({"a": names[i], "b": names[j], "n": int(both.sum()),
                      "spearman": spearman_rho(matrix[i, both], matrix[j, both])})
    return {"spearman": pairs, "krippendorff_alpha": krippendorff_alpha(matrix), "level": "interval"}


def panel_record(records: Sequence[dict], names: Sequence[str]) -> dict:
    """One item's panel record: the mean of the judges' scores, each judge's score, the reference fields."""
    first = records[0]
    scores = [r["score"] for r in records]
    have = [s for s in scores if s is not None]
    masses = [r["valid_mass"] for r in records if r["valid_mass"] is not None]
    reasons = [f"{n}: {r['reason']}" for n, r in zip(names, records) if r["reason"]]
    return {"id": first["id"], "key": first["key"], "score": float(np.mean(have)) if have else None,
            "mode": "+".join(dict.fromkeys(r["mode"] for r in records)), "raw": None,
            "reason": "; ".join(reasons) or None, "argmax": None,
            "valid_mass": float(np.mean(masses)) if masses else None, "prompt_hash": first["prompt_hash"],
            "judge_scores": scores, "exact_match": first["exact_match"], "token_f1": first["token_f1"],
            "rouge_l": first["rouge_l"], "length": first["length"]}


def score_panel(entries: Sequence[dict], keys: Sequence[str], judges: Sequence[Judge],
                out_dir: str | Path | None = None, **options: Any) -> tuple[list[dict], dict]:
    """Score with every judge in `judges`, then the panel's records and summary (see the module docstring)."""
    if len(judges) < 2:
        raise WorkshopError(f"a panel needs at least two judges (got {len(judges)}); pass --judge more than once")
    names = [judge.name for judge in judges]
    runs = []
    for index, (judge, name) in enumerate(zip(judges, names)):
        sub = Path(out_dir) / "judges" / judge_slug(index, name) if out_dir is not None else None
        records, summary = score_with(judge, entries, keys, out_dir=sub, **options)
        runs.append({"judge": name, "out_dir": None if sub is None else str(sub), "records": records,
                     "summary": summary})
    records = [panel_record(items, names) for items in zip(*(run["records"] for run in runs))]
    matrix = np.array([[np.nan if r["score"] is None else r["score"] for r in run["records"]] for run in runs])
    modes = {run["summary"]["mode"] for run in runs}
    summary = build_summary(records, list(dict.fromkeys(keys)), "panel: " + " + ".join(names),
                            modes.pop() if len(modes) == 1 else "mixed", options.get("reference_key", "output"),
                            runs[0]["summary"]["notes"], subject="panel")
    summary["panel"] = {"judges": names, "out_dirs": [run["out_dir"] for run in runs],
                        "summaries": [run["summary"] for run in runs], **judge_agreement(names, matrix)}
    if out_dir is not None:
        write_outputs(out_dir, records, summary)
    return records, summary
