"""Constrained types for job signatures: jsonargparse checks them before any work starts.

A job's parameter annotated `PositiveInt` rejects `--batch_size 0` on the command line, in a
`--config` YAML and in a pipeline step's `with:` alike, because all three are parsed from
the same signature (see `workshop.run.jobs`). `ExistingFile` / `ExistingDir` turn a missing
path into a one-line error naming it; `OutputFile` / `OutputDir` refuse a path that can't be
written where it points (a folder where a file goes, a file where a folder goes) before any
work starts.
"""

from __future__ import annotations

from pathlib import Path, PosixPath

from jsonargparse.typing import (
    ClosedUnitInterval,
    NonNegativeFloat,
    NonNegativeInt,
    OpenUnitInterval,
    PositiveFloat,
    PositiveInt,
    register_type,
)

__all__ = [
    "ClosedUnitInterval", "ExistingDir", "ExistingFile", "NonNegativeFloat", "NonNegativeInt", "OpenUnitInterval",
    "OutputDir", "OutputFile", "PositiveFloat", "PositiveInt", "FIXES",
]

# What to do when a value does not fit its type (appended to jsonargparse's message).
FIXES = {
    "PositiveInt": "use a whole number of 1 or more",
    "NonNegativeInt": "use a whole number of 0 or more",
    "PositiveFloat": "use a number above 0",
    "NonNegativeFloat": "use a number of 0 or more",
    "ClosedUnitInterval": "use a number from 0 to 1",
    "OpenUnitInterval": "use a number between 0 and 1 (exclusive)",
    "ExistingFile": "check the path",
    "ExistingDir": "check the path",
    "OutputFile": "pick another path",
    "OutputDir": "pick another path",
}


class ExistingFile(PosixPath):
    """A path that must name an existing file."""


class ExistingDir(PosixPath):
    """A path that must name an existing directory."""


def _existing_file(value: str | Path) -> ExistingFile:
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, expected a file")
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    return ExistingFile(path)


def _existing_dir(value: str | Path) -> ExistingDir:
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"{path}: directory not found" if not path.exists() else f"{path} is a file, expected a directory")
    return ExistingDir(path)


class OutputFile(PosixPath):
    """A path a file will be written to: not an existing folder, and no parent is a file."""


class OutputDir(PosixPath):
    """A folder outputs will be written into: not an existing file, and no parent is a file."""


def _file_on_the_way(path: Path) -> Path | None:
    """The first existing non-folder among `path`'s parents, if any."""
    return next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)


def _output_file(value: str | Path) -> OutputFile:
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, expected a file name")
    blocker = _file_on_the_way(path)
    if blocker is not None:
        raise ValueError(f"{path}: {blocker} is a file, so nothing can be written under it")
    return OutputFile(path)


def _output_dir(value: str | Path) -> OutputDir:
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} is an existing file, expected a folder for the outputs")
    blocker = _file_on_the_way(path)
    if blocker is not None:
        raise ValueError(f"{path}: {blocker} is a file, so no folder can be made under it")
    return OutputDir(path)


register_type(ExistingFile, serializer=str, deserializer=_existing_file)
register_type(OutputFile, serializer=str, deserializer=_output_file)
register_type(OutputDir, serializer=str, deserializer=_output_dir)
register_type(ExistingDir, serializer=str, deserializer=_existing_dir)
