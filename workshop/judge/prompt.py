"""The judge prompt: the workshop's template, filled from one entry and one response key.

Templates are plain text files under `evals/judge/` with `{placeholders}`: `{input}` is
the entry's instruction and input in the workshop's Alpaca format (`format_input`),
`{output}` the correct answer, `{response}` the response being judged, and any other
`{field}` the entry's own field. Other braces (e.g. JSON in a template) are left alone.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Mapping

from workshop.errors import WorkshopError
from workshop.instructions import format_input
from workshop.paths import EVALS_DIR, project_path

DEFAULT_TEMPLATE = EVALS_DIR / "judge" / "workshop.txt"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load_template(path: str | Path | None = None) -> str:
    """The template text at `path` (default: the workshop's prompt), without its final newline.

    A relative path that does not exist here is looked up in the project (`evals/judge/...`).
    """
    path = project_path(path) if path is not None else DEFAULT_TEMPLATE
    if not path.is_file():
        raise WorkshopError(f"{path}: judge template not found; pass --template with an existing text file")
    text = path.read_text(encoding="utf-8").rstrip("\n")
    if "{response}" not in text:
        raise WorkshopError(f"{path}: the template has no {{response}} placeholder; add it where the answer goes")
    return text


def build_prompt(entry: Mapping[str, Any], key: str, template: str | None = None) -> str:
    """The judge prompt for the response `entry[key]` (the workshop's prompt unless `template` is given)."""
    template = load_template() if template is None else template
    fields = {"response": entry[key]}

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in fields:
            fields[name] = format_input(entry) if name == "input" else entry[name]
        return str(fields[name])

    return _PLACEHOLDER.sub(fill, template)


def template_fields(template: str) -> list[str]:
    """Entry fields the template needs (beyond the response key), to check the data up front."""
    names = set(_PLACEHOLDER.findall(template)) - {"response"}
    if "input" in names:  # format_input reads the instruction and the (possibly empty) input
        names = (names - {"input"}) | {"instruction"}
    return sorted(names)


def prompt_hash(prompt: str) -> str:
    """A short stable hash of a prompt, for records and the resume cache."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]
