"""Values checked against type hints: every unknown key and ill-typed value, one phrase each.

`problems(hints, values)` walks a mapping (nested into dataclass-typed keys) and says, for each
key, what is wrong in words people use: "train.max_stepz: unknown key; did you mean
train.max_steps?", "lora_r: expected a whole number, got 'eight'", "--limit: 0 is out of
range; use a whole number of 1 or more (or leave it out)". The constrained types of
`workshop.core.types` check their own range. Plain Python (typing only): the command line,
recipes, pipeline steps and `workshop.gpt`'s presets all use it, with or without jsonargparse.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Callable, Iterable, Literal, Union

from workshop.core.errors import closest
from workshop.core.types import ValueProblem

KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text", dict: "a mapping of keys"}


def _members(hint: Any) -> tuple[Any, ...]:
    """The alternatives of a Union / Optional (or the hint itself)."""
    return typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)


def _dataclass(hint: Any) -> type | None:
    return next((m for m in _members(hint) if dataclasses.is_dataclass(m)), None)


def fields_of(hint: Any) -> dict[str, Any]:
    """The type hints of a dataclass-typed value (`train` -> TrainArgs' fields), else {}."""
    cls = _dataclass(hint)
    return typing.get_type_hints(cls) if cls else {}


def value_problem(value: Any, hint: Any) -> str | None:
    """Why `value` does not fit `hint`, as "VALUE is out of range; FIX" / "expected KIND, got VALUE"; None if it fits
    (or the hint is a class this check leaves to jsonargparse)."""
    members = _members(hint)
    if len(members) > 1:
        if value is None and type(None) in members:
            return None
        found = [value_problem(value, m) for m in members if m is not type(None)]
        if not found or any(p is None for p in found):
            return None
        return found[0] + (" (or leave it out)" if type(None) in members else "")
    origin = typing.get_origin(hint)
    if origin is Literal:
        return None if value in typing.get_args(hint) else f"use one of {', '.join(map(str, typing.get_args(hint)))}"
    if origin in (list, tuple, typing.get_origin(typing.Sequence)):
        if isinstance(value, str) and value.startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return None
        items = value if isinstance(value, (list, tuple)) else [value]
        inner = (typing.get_args(hint) or (Any,))[0]
        return next((p for p in (value_problem(v, inner) for v in items) if p), None)
    if hint in (int, float):
        try:
            number = None if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or number != number or (hint is int and not number.is_integer()):
            return f"expected {KINDS[hint]}, got {value!r}"
        return None
    if hint is bool:
        return None if isinstance(value, bool) or str(value).lower() in ("true", "false") else \
            f"expected true or false, got {value!r}"
    if isinstance(hint, type) and hasattr(hint, "fix"):  # workshop.core.types: the constructor is the check
        try:
            hint(value)
        except ValueProblem as e:
            return str(e)
    return None


def problems(hints: dict[str, Any], values: dict[str, Any], spell: Callable[[str], str] | None = None,
             prefix: str = "", known: Iterable[str] | None = None) -> list[str]:
    """Every unknown key and every value that does not fit its type, one phrase each ("--limit: 0 is out of range;
    use a whole number of 1 or more"; "train.max_stepz: unknown key; did you mean train.max_steps?").

    `spell` writes a key as people type it (the CLI: `--max-new-tokens`); YAML keys stay as they are.
    """
    found = []
    show = spell or (lambda key: key)
    names = set(hints if known is None else known)
    for key, value in values.items():
        full = f"{prefix}{key}"
        if key not in names:
            match = closest(key, names)
            found.append(f"{show(full)}: unknown {'flag' if spell else 'key'}"
                         + (f"; did you mean {show(prefix + match)}?" if match else ""))
        elif isinstance(value, dict) and "class_path" in value:  # a class spec: its class's parser checks it
            continue
        elif isinstance(value, dict) and fields_of(hints.get(key)):
            found += problems(fields_of(hints[key]), value, spell, f"{full}.")
        elif hints.get(key) is not None:
            problem = value_problem(value, hints[key])
            if problem:
                found.append(f"{show(full)}: {problem}")
    return found
