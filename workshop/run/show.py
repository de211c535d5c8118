"""What the data, respond, judge, report and compare jobs print for people (the printers named in `workshop.run.jobs`).

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


def show_report(paths: dict[str, Any], **_: Any) -> None:
    """The files written, and the tracker run the figures went to."""
    print("\n".join(f"sent figures to {k[len('tracker '):]}: {p}" if k.startswith("tracker ") else f"wrote {p}"
                     for k, p in paths.items()))


def show_compare(result: dict[str, Any], **_: Any) -> None:
    """The comparison as text (each run's figures, its call against the baseline), then the files written."""
    from workshop.report.compare_render import change_text, figure_text

    print(f"{len(result['rows'])} runs against {result['baseline']}; {result['n_comparisons']} p-values "
          f"Holm-adjusted, better/worse at adjusted p < {result['alpha']}; sorted by {result['measures'][result['sorted_by']]}")
    for row in result["rows"]:
        settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items())
        print(f"{row['name']}{' (baseline)' if row['baseline'] else ''}" + (f"  [{settings}]" if settings else ""))
        for m, cell in row["cells"].items():
            print(f"  {result['measures'][m]:<22} {figure_text(m, cell):<22} {change_text(cell.get('vs_baseline'))}")
    for path in (result.get("files") or {}).values():
        print(f"wrote {path}")
