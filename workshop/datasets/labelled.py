"""Labelled sentences for `workshop eval classify`: CoLA's TSV as is, CSV/TSV with a header, JSONL.

CoLA's files have no header and four columns: source, label (1 acceptable, 0 not),
original label (`*` marks the unacceptable ones), sentence. Other files name their
columns/keys: the text is `sentence` or `text` (or `text_field`), the label `label`.
"""

from __future__ import annotations

import csv
from pathlib import Path

from workshop.core.errors import WorkshopError
from workshop.core.io import read_records

TEXT_FIELDS = ("sentence", "text")
COLA_COLUMNS = "source, label, original label, sentence"


def _pick_text_field(path: Path, fields: list[str], text_field: str | None) -> str:
    """The text column: `text_field` when given, else the first of sentence/text present."""
    if text_field is not None:
        if text_field not in fields:
            raise WorkshopError(f"{path}: no column {text_field!r} (found: {', '.join(fields)}); fix --text-field")
        return text_field
    for name in TEXT_FIELDS:
        if name in fields:
            return name
    raise WorkshopError(f"{path}: no 'sentence' or 'text' column (found: {', '.join(fields)}); pass --text-field NAME")


def _check_label_field(path: Path, fields: list[str], label_field: str) -> None:
    if label_field not in fields:
        raise WorkshopError(f"{path}: no column {label_field!r} (found: {', '.join(fields)}); pass --label-field NAME")


def _read_delimited(path: Path, text_field: str | None, label_field: str) -> list[tuple[str, str]]:
    """CSV/TSV rows -> (text, raw label); a TSV without header must be CoLA's 4-column layout."""
    delimiter = "\t" if path.suffix == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL  # CoLA sentences contain bare quotes
    with open(path, newline="", encoding="utf-8") as f:
        rows = [(n + 1, r) for n, r in enumerate(csv.reader(f, delimiter=delimiter, quoting=quoting)) if r]
    if not rows:
        raise WorkshopError(f"{path}: file is empty; expected labelled sentences")
    header = [c.strip() for c in rows[0][1]]
    has_header = label_field in header or text_field in header or any(name in header for name in TEXT_FIELDS)
    if not has_header:
        if delimiter == "\t" and len(header) == 4:
            return [_cola_row(path, line, row) for line, row in rows]
        raise WorkshopError(
            f"{path}:1: no header naming a text and a label column, and not CoLA's layout ({COLA_COLUMNS}); add a header"
        )
    text_col = header.index(_pick_text_field(path, header, text_field))
    _check_label_field(path, header, label_field)
    label_col = header.index(label_field)
    out = []
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise WorkshopError(f"{path}:{line}: {len(row)} columns, the header has {len(header)}; fix the row")
        out.append((row[text_col], row[label_col].strip()))
    return out


def _cola_row(path: Path, line: int, row: list[str]) -> tuple[str, str]:
    if len(row) != 4:
        raise WorkshopError(f"{path}:{line}: expected CoLA's 4 columns ({COLA_COLUMNS}), got {len(row)}; fix the row")
    return row[3], row[1].strip()


def _read_jsonl(path: Path, text_field: str | None, label_field: str) -> list[tuple[str, str]]:
    out = []
    for n, row in enumerate(read_records(path), start=1):
        if not isinstance(row, dict):
            raise WorkshopError(f"{path}: entry {n} is {type(row).__name__}, expected an object with text and label")
        fields = list(row)
        text = _pick_text_field(path, fields, text_field)
        _check_label_field(path, fields, label_field)
        out.append((str(row[text]), str(row[label_field]).strip()))
    return out


def read_labelled(path: str | Path, text_field: str | None = None, label_field: str = "label") -> list[tuple[str, str]]:
    """(text, raw label as a string) pairs from .tsv/.csv/.jsonl/.json."""
    path = Path(path)
    if not path.is_file():
        raise WorkshopError(f"{path}: file not found; check --data")
    if path.suffix in (".tsv", ".csv"):
        rows = _read_delimited(path, text_field, label_field)
    elif path.suffix in (".jsonl", ".json"):
        rows = _read_jsonl(path, text_field, label_field)
    else:
        raise WorkshopError(f"{path}: unknown format {path.suffix!r}; use .tsv (CoLA), .csv or .jsonl")
    if not rows:
        raise WorkshopError(f"{path}: no labelled rows (only a header?); add data")
    return rows


def label_words(raw_labels: list[str], labels: str) -> dict[str, str]:
    """Map raw labels to label words from `--labels`.

    `"1=acceptable,0=unacceptable"` maps explicitly. Plain words map labels spelled as the
    words; binary 0/1 labels map 1 to the first word and 0 to the second (CoLA, SST-2).
    """
    items = [s.strip() for s in labels.split(",") if s.strip()]
    if len(items) < 2:
        raise WorkshopError(f"--labels {labels!r}: give at least two label words, e.g. 'acceptable,unacceptable'")
    present = sorted(set(raw_labels))
    if all("=" in item for item in items):
        mapping = {k.strip(): v.strip() for k, v in (item.split("=", 1) for item in items)}
    elif any("=" in item for item in items):
        raise WorkshopError(f"--labels {labels!r}: use all 'value=word' pairs or all plain words")
    elif set(present) <= set(items):
        mapping = {w: w for w in items}
    elif set(present) <= {"0", "1"} and len(items) == 2:
        mapping = {"1": items[0], "0": items[1]}
    else:
        raise WorkshopError(
            f"--labels {labels!r} does not cover the data's labels {present}; map them as 'value=word,...'"
        )
    missing = [raw for raw in present if raw not in mapping]
    if missing:
        raise WorkshopError(f"--labels {labels!r} has no word for data label(s) {missing}; add 'value=word'")
    if len(set(mapping.values())) != len(mapping):
        raise WorkshopError(f"--labels {labels!r}: label words must differ")
    return mapping
