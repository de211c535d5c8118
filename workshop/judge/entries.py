"""The data a judge run reads, checked up front: responses, template fields, reference answers.

Every response key must hold text and every field the template names must be there, or the
run stops before judging anything, naming the entry and key. A missing reference answer is
not an error: with a shipped template the entry is judged with its no-reference twin, its
reference metrics are null, and the summary's `notes` say how many entries that was.
"""

from __future__ import annotations

from typing import Any, Sequence

from workshop.core.errors import WorkshopError
from workshop.judge.prompt import JudgeTemplate, needs_reference, template_fields
from workshop.judge.reference import reference_fields, reference_of


def check_entries(entries: Sequence[Any], keys: Sequence[str], template: JudgeTemplate, reference_key: str,
                  source: str, responses: Sequence[str] = ("response",)) -> None:
    """Fail in one line, naming the entry and key, when the data cannot fill the prompt."""
    if not keys:
        raise WorkshopError(f"{source}: no response key given; pass --key with the field to judge")
    if not entries:
        raise WorkshopError(f"{source}: no entries to judge")
    fields = [f for f in template_fields(template.text, responses, reference_key) if f != reference_key]
    if needs_reference(template.text) and template.no_reference is None:
        fields.append(reference_key)  # a custom template with {output}: the reference is required
    needed = [*keys, *fields]
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise WorkshopError(f"{source}: entry {i} is a {type(entry).__name__}, expected an object with {needed}")
        for key in needed:
            if key not in entry:
                have = ", ".join(sorted(entry)) or "none"
                fix = ("fix the data, or pass --template without {output}" if key == reference_key
                       else "fix the data or --key")
                raise WorkshopError(f"{source}: entry {i} has no key {key!r} (its keys: {have}); {fix}")
            if (key in keys or key == reference_key) and not isinstance(entry[key], str):
                what = "the response text" if key in keys else "the correct answer (the template needs {output})"
                kind = type(entry[key]).__name__
                raise WorkshopError(f"{source}: entry {i} key {key!r} is a {kind}, expected {what}")


def reference_notes(entries: Sequence[dict], template: JudgeTemplate, reference_key: str) -> list[str]:
    """What the summary says about entries without a reference answer (empty when all have one)."""
    missing = sum(reference_of(e, reference_key) is None for e in entries)
    if not missing:
        return []
    note = (f"{missing} of {len(entries)} entries have no reference answer {reference_key!r}: "
            "their reference metrics are null")
    if needs_reference(template.text) and template.no_reference is not None:
        note += "; they were judged with the prompt without a correct answer (evals/judge/*-no-reference.txt)"
    return [note]


def score_record(entry: dict, index: int, key: str, result: dict, reference_key: str) -> dict:
    """One scores.jsonl record: the judgement's fields in the documented order, then the reference metrics."""
    fields = ("score", "mode", "raw", "reason", "argmax", "valid_mass", "prompt_hash")
    return {"id": entry.get("id", index), "key": key, **{f: result[f] for f in fields},
            **reference_fields(entry[key], reference_of(entry, reference_key))}
