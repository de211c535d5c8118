"""compare.json, compare.md, compare.html (one self-contained file with the item explorer) and compare.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop.core.io import atomic_write_json, atomic_write_text
from workshop.report.render import data_uri, environment, num
from workshop.report.runs import MEASURES, Run


def figure_text(measure: str, cell: dict[str, Any]) -> str:
    """A run's figure as a cell shows it: the judge's mean with its CI, MMLU accuracy ± SE, others plain."""
    figure, spread = cell["figure"], cell["spread"]
    digits = 1 if measure == "judge" else 3
    text = num(figure, digits)
    if isinstance(spread, (list, tuple)) and len(spread) == 2 and None not in spread:
        text += f" [{spread[0]:.{digits}f}, {spread[1]:.{digits}f}]"
    elif isinstance(spread, (int, float)):
        text += f" ± {spread:.{digits}f}"
    return text


def change_text(c: dict[str, Any] | None) -> str:
    """A comparison as a cell shows it: the difference, the Holm-adjusted p and the call."""
    from workshop.core.stats import format_p

    if not c or c.get("change") is None:
        return ""
    if c["change"] == "not comparable":
        return f"not comparable: {c['reason']}"
    digits = 1 if c["measure"] == "judge" else 3
    diff = f"{c['diff']:+.{digits}f}" + (f" [{c['ci95'][0]:+.{digits}f}, {c['ci95'][1]:+.{digits}f}]" if c.get("ci95") else "")
    return f"{diff}, n {c['n']}, p {format_p(c['p'])}, Holm p {format_p(c['p_holm'])}: {c['change']}"


def plot(result: dict[str, Any], path: Path) -> Path:
    """One panel per measure: each run's figure with its interval, the baseline in grey, calls in colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measures = list(result["measures"])
    rows = result["rows"]
    fig, axes = plt.subplots(1, len(measures), figsize=(3.2 * len(measures) + 1.5, 0.45 * len(rows) + 1.4), squeeze=False)
    colour = {"better": "#2e8b57", "worse": "#c0392b", "no clear change": "#4a6fa5", "not comparable": "#b0b0b0"}
    names = [r["name"] for r in rows]
    for ax, m in zip(axes[0], measures):
        for y, row in enumerate(rows):
            cell = row["cells"].get(m)
            if not cell or cell["figure"] is None:
                continue
            spread = cell["spread"]
            err = None
            if isinstance(spread, (list, tuple)) and None not in spread:
                err = [[cell["figure"] - spread[0]], [spread[1] - cell["figure"]]]
            elif isinstance(spread, (int, float)):
                err = [[spread], [spread]]
            change = (cell.get("vs_baseline") or {}).get("change")
            ax.errorbar(cell["figure"], y, xerr=err, fmt="o", capsize=3,
                        color="#555555" if row["baseline"] else colour.get(change, "#4a6fa5"))
        ax.set_title(result["measures"][m], fontsize=10)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(names if ax is axes[0][0] else [], fontsize=8)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"against {result['baseline']} (grey); green better, red worse after Holm", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_compare(result: dict[str, Any], runs: list[Run], out: Path) -> dict[str, Path]:
    """Write the four files of a comparison into `out`."""
    from workshop.report.explorer import from_runs

    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    env.filters.update(figure=figure_text, change=change_text)
    png = plot(result, out / "compare.png")
    names = [r["name"] for r in result["rows"]]
    ordered = sorted(runs, key=lambda r: names.index(r.name))
    explorer = from_runs(ordered, names.index(result["baseline"])) if any(r.items for r in runs) else None
    context = {"c": result, "measures": MEASURES}
    md = env.get_template("compare.md.j2").render(**context, image="compare.png")
    page = env.get_template("compare.html.j2").render(**context, image=data_uri(png), explorer=explorer)
    return {"json": atomic_write_json(out / "compare.json", result), "md": atomic_write_text(out / "compare.md", md),
            "html": atomic_write_text(out / "compare.html", page), "png": png}
