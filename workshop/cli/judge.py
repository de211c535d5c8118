"""What `workshop judge` and `workshop judge agreement` print (the jobs live in `workshop.judge`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show(summary: dict | None, data: Path, out_dir: Path | None = None, **_: Any) -> None:
    """The summary tables and where the outputs are (nothing on the helper nodes of a multi-node run)."""
    if summary is None:
        return
    from workshop.judge.scoring import default_out_dir
    from workshop.judge.summary import summary_markdown

    print(summary_markdown(summary), end="")
    print(f"outputs in {out_dir if out_dir is not None else default_out_dir(data)}")


def show_agreement(result: dict, out: Path | None = None, **_: Any) -> None:
    """The agreement table (and where the files are, with --out)."""
    from workshop.judge.agreement import agreement_markdown

    print(agreement_markdown(result), end="")
    if out is not None:
        print(f"outputs in {out}")
