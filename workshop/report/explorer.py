"""The item explorer's data: every test item with each response and its judge score, exact match and ROUGE-L.

One shape for both pages: `columns` names the responses (a run's before/after keys, or each
compared run) and every item holds the instruction, input and reference with one cell per
column, `[response, judge score, exact match, ROUGE-L]` (null where that column has no such
item). The page (`templates/explorer.html.j2`) embeds it as JSON and sorts, filters and pages
it in the browser, so the HTML stays one self-contained file at thousands of items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop.core.io import iter_jsonl, read_records

TIE_MARGIN = 0.5  # a judge difference under this is a tie (workshop.core.stats.TIE_MARGIN)


def cell(response: Any, record: dict | None) -> list[Any]:
    """One column's cell: [response text, judge score, exact match (0/1), ROUGE-L]."""
    record = record or {}
    em = record.get("exact_match")
    return [None if response is None else str(response), record.get("score"),
            None if em is None else int(bool(em)), record.get("rouge_l")]


def from_judged(data: Path, scores: Path, keys: list[str]) -> dict[str, Any]:
    """The explorer of one run: the responses file's entries with each judged key's response and scores."""
    records = {(r.get("id"), r.get("key")): r for r in iter_jsonl(scores)} if scores.is_file() else {}
    items = []
    for index, entry in enumerate(read_records(data)):
        ident = entry.get("id", index)
        items.append({"id": ident, "instruction": entry.get("instruction", ""), "input": entry.get("input", ""),
                      "reference": entry.get("output", ""),
                      "cells": [cell(entry.get(key), records.get((ident, key))) for key in keys]})
    return {"columns": list(keys), "baseline": 0, "tie_margin": TIE_MARGIN, "items": items}


def from_runs(runs: list[Any], baseline_index: int) -> dict[str, Any]:
    """The explorer of compared runs (`workshop.report.runs.Run`): the items any run has text for, one column a run."""
    keys: dict[str, dict[str, Any]] = {}
    for run in runs:
        for key, item in run.items.items():
            keys.setdefault(key, item)
    items = []
    for key, item in keys.items():
        cells = []
        for run in runs:
            mine = run.items.get(key)
            record = {"score": _value(run, "judge", key), "exact_match": _value(run, "exact_match", key),
                      "rouge_l": _value(run, "rouge_l", key)}
            cells.append(cell(mine["response"] if mine else None, record))
        items.append({"id": key, "instruction": item["instruction"], "input": item["input"],
                      "reference": item["reference"], "cells": cells})
    return {"columns": [r.name for r in runs], "baseline": baseline_index, "tie_margin": TIE_MARGIN, "items": items}


def _value(run: Any, measure: str, key: str) -> float | None:
    m = run.measures.get(measure)
    return None if m is None else m.values.get(key)
