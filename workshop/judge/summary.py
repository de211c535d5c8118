"""The judge run's summary: statistics per key (and paired), as JSON, Markdown and files.

`summary.json` is `{"judge", "mode", "keys": {KEY: {n, n_scored, mean, median, std, ci95}},
"paired": {...}}` (`paired` only with two keys); `summary.md` holds the same as tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from workshop.io import atomic_write_json, atomic_write_jsonl, atomic_write_text
from workshop.judge.plots import plot_paired, plot_scores
from workshop.judge.stats import key_stats, paired_stats


def scores_by_key(records: Sequence[dict], keys: Sequence[str]) -> dict[str, list[float | None]]:
    """Each key's scores in entry order (None where the judge gave no score)."""
    return {key: [r["score"] for r in records if r["key"] == key] for key in keys}


def build_summary(records: Sequence[dict], keys: Sequence[str], judge: str, mode: str) -> dict:
    """The summary dict of a run (see the module docstring for its shape)."""
    scores = scores_by_key(records, keys)
    summary = {"judge": judge, "mode": mode, "keys": {key: key_stats(scores[key]) for key in keys}}
    if len(keys) == 2:
        a, b = keys
        summary["paired"] = paired_stats(scores[a], scores[b], a, b)
    return summary


def _fmt(x: float | None, digits: int = 2) -> str:
    """A number for a table cell ("-" for None)."""
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(ci: list[float] | None) -> str:
    """A confidence interval for a table cell."""
    return "-" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def summary_markdown(summary: dict) -> str:
    """Markdown tables: one row per key, plus the paired comparison when present."""
    lines = [
        f"Judge: `{summary['judge']}` (mode: {summary['mode']})",
        "",
        "| key | scored / n | mean | 95% CI | median | std |",
        "|---|---|---|---|---|---|",
    ]
    for key, s in summary["keys"].items():
        lines.append(
            f"| {key} | {s['n_scored']} / {s['n']} | {_fmt(s['mean'])} | {_ci(s['ci95'])} "
            f"| {_fmt(s['median'])} | {_fmt(s['std'])} |"
        )
    p = summary.get("paired")
    if p:
        lines += [
            "",
            f"Paired ({p['b']} - {p['a']}, {p['n']} items scored under both):",
            "",
            "| mean diff | 95% CI | wins / ties / losses | Wilcoxon p |",
            "|---|---|---|---|",
            f"| {_fmt(p['mean_diff'])} | {_ci(p['ci95'])} | {p['wins']} / {p['ties']} / {p['losses']} "
            f"| {_fmt(p['wilcoxon_p'], 4)} |",
        ]
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: str | Path, records: Sequence[dict], summary: dict) -> dict[str, Path]:
    """Write scores.jsonl, summary.json, summary.md, scores.png (and paired.png) into `out_dir`."""
    out_dir = Path(out_dir)
    keys = list(summary["keys"])
    scores = scores_by_key(records, keys)
    paths = {
        "scores": atomic_write_jsonl(out_dir / "scores.jsonl", records),
        "summary": atomic_write_json(out_dir / "summary.json", summary),
        "markdown": atomic_write_text(out_dir / "summary.md", summary_markdown(summary)),
        "scores_png": plot_scores(scores, out_dir / "scores.png"),
    }
    if "paired" in summary:
        a, b = keys
        paths["paired_png"] = plot_paired(scores[a], scores[b], a, b, out_dir / "paired.png")
    return paths
