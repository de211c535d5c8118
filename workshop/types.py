"""Constrained types for job signatures: jsonargparse checks them before any work starts.

A job's parameter annotated `PositiveInt` rejects `--batch_size 0` on the command line, in a
`--config` YAML and in a pipeline step's `with:` alike, because all three are parsed from
the same signature (see `workshop.jobs`). `ExistingFile` / `ExistingDir` turn a missing
path into a one-line error naming it.
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
    "PositiveFloat", "PositiveInt", "FIXES",
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


register_type(ExistingFile, serializer=str, deserializer=_existing_file)
register_type(ExistingDir, serializer=str, deserializer=_existing_dir)
