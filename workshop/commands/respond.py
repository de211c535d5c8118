"""What `workshop respond` prints (the job is `workshop.respond.respond_file`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show(written: Path, key: str, **_: Any) -> None:
    """Where the responses went."""
    print(f"wrote {written} (key {key!r})")
