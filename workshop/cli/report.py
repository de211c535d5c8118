"""What `workshop report` prints (the job is `workshop.report.write_report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show(paths: dict[str, Path], **_: Any) -> None:
    """The files written."""
    print("\n".join(f"wrote {p}" for p in paths.values()))
