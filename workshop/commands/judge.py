"""What `workshop judge` prints (the job is `workshop.judge.scoring.score_file`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show(summary: dict | None, data: Path, out_dir: Path | None = None, **_: Any) -> None:
    """The summary table and where the outputs are (nothing on the helper nodes of a multi-node run)."""
    if summary is None:
        return
    from workshop.judge.scoring import default_out_dir
    from workshop.judge.summary import summary_markdown

    print(summary_markdown(summary), end="")
    print(f"outputs in {out_dir if out_dir is not None else default_out_dir(data)}")
