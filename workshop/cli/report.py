"""What `workshop report` prints (the job is `workshop.report.write_report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show(paths: dict[str, Any], **_: Any) -> None:
    """The files written, and the tracker run the figures went to."""
    print("\n".join(f"sent figures to {k[len('tracker '):]}: {p}" if k.startswith("tracker ") else f"wrote {p}"
                     for k, p in paths.items()))
