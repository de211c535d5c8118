"""What the data, respond, judge and report jobs print for people (the printers named in `workshop.run.jobs`).

Each printer takes the job's result and its keyword arguments; the jobs themselves return data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def show_split(outputs: dict[str, Any], **_: Any) -> None:
    """One line per part: entries and file."""
    for name in ("train", "test", "val"):
        if name in outputs:
            print(f"{name}: {outputs[f'n_{name}']} entries -> {outputs[name]}")


def show_written(path: Path, **_: Any) -> None:
    """How many entries the written file holds."""
    from workshop.datasets.instructions import load_instructions

    print(f"wrote {len(load_instructions(path))} entries -> {path}")


def show_labelled(paths: dict[str, Path], **_: Any) -> None:
    """One line per labelled file: rows, share labelled 1 (or per label) and path."""
    from collections import Counter

    from workshop.datasets.labelled import read_labelled

    for name, path in paths.items():
        rows = read_labelled(path)
        counts = Counter(label for _, label in rows)
        print(f"{name}: {len(rows)} sentences ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))}) -> {path}")


def show_mmlu_data(folder: Path, **_: Any) -> None:
    """Where the questions are and how to use them."""
    from workshop.evals.mmlu_data import N_QUESTIONS, SUBJECTS

    print(f"MMLU test split: {len(SUBJECTS)} subjects, {N_QUESTIONS:,} questions (sha256-checked) in {folder}/test")
    print(f"use: workshop eval mmlu --model CKPT --tasks mmlu_philosophy --data-dir {folder}")


def show_responses(written: Path | None, key: str, **_: Any) -> None:
    """Where the responses went (nothing on the helper nodes of a multi-node run)."""
    if written is not None:
        print(f"wrote {written} (key {key!r})")


def show_judge(summary: dict | None, data: Path, out_dir: Path | None = None, **_: Any) -> None:
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


def show_report(paths: dict[str, Path], **_: Any) -> None:
    """The files written."""
    print("\n".join(f"wrote {p}" for p in paths.values()))
