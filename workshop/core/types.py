"""Constrained types for job signatures: each checks its own range, so the range is declared once.

A job's parameter annotated `PositiveInt` rejects `--batch-size 0` on the command line, in a
`--config` YAML and in a pipeline step's `with:` alike: the type's constructor is the check,
and its message names the fix ("0 is out of range; use a whole number of 1 or more").
`ExistingFile` / `ExistingDir` turn a missing path into a one-line error (`workshop:PATH`
names a shipped file); `OutputFile` / `OutputDir` refuse a path that can't be written where
it points (a folder where a file goes, a file where a folder goes) before any work starts.

Plain Python: `workshop.gpt` uses these without jsonargparse (a base install). The job
parsers (`workshop.run.args`) hand them to jsonargparse with `register_types()`.
"""

from __future__ import annotations

import math
from pathlib import Path, PosixPath
from typing import Any

from workshop.core.paths import user_path

__all__ = [
    "ClosedUnitInterval", "ExistingDir", "ExistingFile", "NonNegativeFloat", "NonNegativeInt", "OpenUnitInterval",
    "OutputDir", "OutputFile", "PositiveFloat", "PositiveInt", "ValueProblem", "register_types",
]


class ValueProblem(ValueError):
    """A value that does not fit its type; the message says what is wrong and the fix."""


def _number(value: Any, whole: bool, fix: str) -> int | float:
    """`value` (a number or its text) as an int (`whole`) or float, else ValueProblem naming the fix."""
    if isinstance(value, bool):
        raise ValueProblem(f"expected {'a whole number' if whole else 'a number'}, got {value!r}; {fix}")
    try:
        number = float(value) if isinstance(value, str) else value
        number = float(number)
    except (TypeError, ValueError):
        raise ValueProblem(f"{value!r} is not a {'whole ' if whole else ''}number; {fix}") from None
    if math.isnan(number) or (whole and not number.is_integer()):
        raise ValueProblem(f"{value} is not a whole number; {fix}")
    return int(number) if whole else number


def _ranged(base: type, name: str, fits, fix: str) -> type:
    """An int or float subclass whose constructor accepts only values for which `fits(v)` holds."""

    def __new__(cls, value: Any = 0):
        number = _number(value, base is int, fix)
        if not fits(number):
            raise ValueProblem(f"{value} is out of range; {fix}")
        return base.__new__(cls, number)

    return type(name, (base,), {"__new__": __new__, "fix": fix, "__doc__": f"{base.__name__}: {fix}",
                                "__module__": __name__})


PositiveInt = _ranged(int, "PositiveInt", lambda v: v > 0, "use a whole number of 1 or more")
NonNegativeInt = _ranged(int, "NonNegativeInt", lambda v: v >= 0, "use a whole number of 0 or more")
PositiveFloat = _ranged(float, "PositiveFloat", lambda v: v > 0, "use a number above 0")
NonNegativeFloat = _ranged(float, "NonNegativeFloat", lambda v: v >= 0, "use a number of 0 or more")
ClosedUnitInterval = _ranged(float, "ClosedUnitInterval", lambda v: 0 <= v <= 1, "use a number from 0 to 1")
OpenUnitInterval = _ranged(float, "OpenUnitInterval", lambda v: 0 < v < 1,
                           "use a number between 0 and 1 (exclusive)")


class ExistingFile(PosixPath):
    """A path that must name an existing file."""

    fix = "check the path"

    def __new__(cls, *parts: Any):
        path = user_path(Path(*parts))
        if path.is_dir():
            raise ValueProblem(f"{path} is a directory, expected a file")
        if not path.is_file():
            raise ValueProblem(f"{path}: file not found")
        return super().__new__(cls, path)


class ExistingDir(PosixPath):
    """A path that must name an existing directory."""

    fix = "check the path"

    def __new__(cls, *parts: Any):
        path = user_path(Path(*parts))
        if not path.is_dir():
            raise ValueProblem(f"{path}: directory not found" if not path.exists()
                               else f"{path} is a file, expected a directory")
        return super().__new__(cls, path)


def _file_on_the_way(path: Path) -> Path | None:
    """The first existing non-folder among `path`'s parents, if any."""
    return next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)


class OutputFile(PosixPath):
    """A path a file will be written to: not an existing folder, and no parent is a file."""

    fix = "pick another path"

    def __new__(cls, *parts: Any):
        path = Path(*parts)
        if path.is_dir():
            raise ValueProblem(f"{path} is a folder, expected a file name; pick another path")
        blocker = _file_on_the_way(path)
        if blocker is not None:
            raise ValueProblem(f"{path}: {blocker} is a file, so nothing can be written under it; pick another path")
        return super().__new__(cls, path)


class OutputDir(PosixPath):
    """A folder outputs will be written into: not an existing file, and no parent is a file."""

    fix = "pick another path"

    def __new__(cls, *parts: Any):
        path = Path(*parts)
        if path.exists() and not path.is_dir():
            raise ValueProblem(f"{path} is an existing file, expected a folder for the outputs; pick another path")
        blocker = _file_on_the_way(path)
        if blocker is not None:
            raise ValueProblem(f"{path}: {blocker} is a file, so no folder can be made under it; pick another path")
        return super().__new__(cls, path)


CONSTRAINED = (PositiveInt, NonNegativeInt, PositiveFloat, NonNegativeFloat, ClosedUnitInterval, OpenUnitInterval,
               ExistingFile, ExistingDir, OutputFile, OutputDir)


def register_types() -> None:
    """Teach jsonargparse these types (each checked by its own constructor); safe to call again."""
    from jsonargparse.typing import register_type

    for cls in CONSTRAINED:
        base = int if issubclass(cls, int) else float if issubclass(cls, float) else str
        register_type(cls, serializer=base, deserializer=cls, deserializer_exceptions=(ValueError, TypeError))
