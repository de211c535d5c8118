"""The judge prompt: the workshop's template, filled from one entry and one (or two) responses.

Templates are plain text files under `evals/judge/` with `{placeholders}`: `{input}` is
the entry's instruction and input in the workshop's Alpaca format (`format_input`),
`{output}` the correct answer (the entry's `--reference-key` field, `output` by default),
`{response}` the response being judged (`{response_a}` / `{response_b}` in a pairwise
template), and any other `{field}` the entry's own field. Other braces (e.g. JSON in a
template) are left alone. Each shipped template has a twin without `{output}`, used for the
entries that have no reference answer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from workshop.core.errors import WorkshopError
from workshop.datasets.instructions import format_input
from workshop.core.paths import EVALS_DIR, project_path

DEFAULT_TEMPLATE = EVALS_DIR / "judge" / "workshop.txt"
NO_REFERENCE_TEMPLATE = EVALS_DIR / "judge" / "workshop-no-reference.txt"
PAIRWISE_TEMPLATE = EVALS_DIR / "judge" / "pairwise.txt"
PAIRWISE_NO_REFERENCE_TEMPLATE = EVALS_DIR / "judge" / "pairwise-no-reference.txt"
RESPONSE = ("response",)
PAIR = ("response_a", "response_b")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load_template(path: str | Path | None = None, default: Path = DEFAULT_TEMPLATE,
                  needs: Sequence[str] = RESPONSE) -> str:
    """The template text at `path` (default: `default`), without its final newline.

    A relative path that does not exist here is looked up in the project (`evals/judge/...`).
    """
    path = project_path(path) if path is not None else default
    if not path.is_file():
        raise WorkshopError(f"{path}: judge template not found; pass --template with an existing text file")
    text = path.read_text(encoding="utf-8").rstrip("\n")
    for name in needs:
        if f"{{{name}}}" not in text:
            raise WorkshopError(f"{path}: the template has no {{{name}}} placeholder; add it where the answer goes")
    return text


def fill(template: str, entry: Mapping[str, Any], responses: Mapping[str, str], reference_key: str = "output") -> str:
    """`template` with the `responses` placeholders and the entry's fields filled in."""
    fields = dict(responses)

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in fields:
            if name == "input":
                fields[name] = format_input(entry)
            else:
                fields[name] = entry[reference_key if name == "output" else name]
        return str(fields[name])

    return _PLACEHOLDER.sub(value, template)


def build_prompt(entry: Mapping[str, Any], key: str, template: str | None = None, reference_key: str = "output") -> str:
    """The judge prompt for the response `entry[key]` (the workshop's prompt unless `template` is given)."""
    template = load_template() if template is None else template
    return fill(template, entry, {"response": entry[key]}, reference_key)


def needs_reference(template: str) -> bool:
    """True when the template shows the correct answer (`{output}`)."""
    return "output" in _PLACEHOLDER.findall(template)


def template_fields(template: str, responses: Sequence[str] = RESPONSE, reference_key: str = "output") -> list[str]:
    """Entry fields the template needs (beyond the responses), to check the data up front."""
    names = set(_PLACEHOLDER.findall(template)) - set(responses)
    if "input" in names:  # format_input reads the instruction and the (possibly empty) input
        names = (names - {"input"}) | {"instruction"}
    if "output" in names:
        names = (names - {"output"}) | {reference_key}
    return sorted(names)


@dataclass(frozen=True)
class JudgeTemplate:
    """A template and, for shipped ones, its twin without `{output}` for entries with no reference."""

    text: str
    no_reference: str | None = None

    def for_entry(self, has_reference: bool) -> str:
        """The template to fill for an entry with (or without) a reference answer."""
        if has_reference or not needs_reference(self.text) or self.no_reference is None:
            return self.text
        return self.no_reference


def judge_template(path: str | Path | None, pairwise: bool = False) -> JudgeTemplate:
    """The template at `path` (with its `-no-reference` twin when one lies beside it, e.g. evals/judge/hardened.txt),
    or the shipped one (pointwise or pairwise) with its no-reference twin."""
    needs = PAIR if pairwise else RESPONSE
    if path is not None:  # a twin beside it (X.txt, X-no-reference.txt) serves entries without a reference
        twin = project_path(path).with_name(f"{project_path(path).stem}-no-reference.txt")
        return JudgeTemplate(load_template(path, needs=needs), load_template(twin, needs=needs) if twin.is_file()
                             else None)
    default, twin = (PAIRWISE_TEMPLATE, PAIRWISE_NO_REFERENCE_TEMPLATE) if pairwise else (DEFAULT_TEMPLATE,
                                                                                          NO_REFERENCE_TEMPLATE)
    return JudgeTemplate(load_template(default, needs=needs), load_template(twin, needs=needs))


def prompt_hash(prompt: str) -> str:
    """A short stable hash of a prompt, for records and the resume cache."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]
