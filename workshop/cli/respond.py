"""What `workshop respond` prints (the job is `workshop.respond.respond_file`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show(written: Path | None, key: str, **_: Any) -> None:
    """Where the responses went (nothing on the helper nodes of a multi-node run)."""
    if written is not None:
        print(f"wrote {written} (key {key!r})")
