"""What `workshop data ...` prints (jobs: `workshop.datasets.instructions.split_file`, `download_workshop_data`,
`workshop.datasets.generated.write_default`, `workshop.datasets.grammar.write_grammar`, `workshop.datasets.cola.download_cola`,
`workshop.datasets.labels.classify_to_instructions`, `workshop.evals.mmlu_data.write_layout`)."""

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


def show_mmlu(folder: Path, **_: Any) -> None:
    """Where the questions are and how to use them."""
    from workshop.evals.mmlu_data import N_QUESTIONS, SUBJECTS

    print(f"MMLU test split: {len(SUBJECTS)} subjects, {N_QUESTIONS:,} questions (sha256-checked) in {folder}/test")
    print(f"use: workshop eval mmlu --model CKPT --tasks mmlu_philosophy --data-dir {folder}")
