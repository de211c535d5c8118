"""report.md and report.html from a results dict, with the Jinja2 templates shipped in `templates/`.

Both files come from the same results.json through their own template (no Markdown is
re-parsed into HTML): the Markdown escapes table cells itself (`md_cell`), the HTML is
autoescaped by Jinja2 and embeds its images, so the page is one self-contained file.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

from workshop.core.stats import format_p, p_is

TEMPLATES = ("report.md.j2", "report.html.j2")


def num(x: Any, digits: int = 1) -> str:
    """A number for a table ("–" for missing or NaN)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
        return "–"
    return f"{x:.{digits}f}"


def pval(p: Any) -> str:
    """A p-value for a table cell (`workshop.core.stats.format_p`; "–" when missing)."""
    return format_p(p, missing="–")


def ci(interval: Any, digits: int = 1) -> str:
    """A confidence interval "[low, high]"."""
    if not isinstance(interval, (list, tuple)) or len(interval) != 2 or not all(
            isinstance(x, (int, float)) for x in interval):
        return "–"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def md_cell(text: Any) -> str:
    """Text safe inside one Markdown table cell: pipes escaped, line breaks as <br>."""
    return str("" if text is None else text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace(
        "\n", "<br>")


def flatten(args: dict, prefix: str = "") -> dict[str, Any]:
    """`{"train": {"max_steps": 2}}` -> `{"train.max_steps": 2}`, for the settings table."""
    flat: dict[str, Any] = {}
    for k, v in args.items():
        if isinstance(v, dict):
            flat.update(flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def environment() -> Any:
    """The Jinja2 environment over the shipped templates, with the report's filters."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("workshop.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.ChainableUndefined,  # fields another branch has not added yet render as blanks
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(num=num, pval=pval, p_is=p_is, ci=ci, md=md_cell, flatten=flatten)
    return env


def data_uri(path: Path) -> str | None:
    """A PNG as a data: URI (None when the file is missing)."""
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def render(results: dict[str, Any], run_dir: Path) -> tuple[str, str]:
    """(report.md, report.html) text for `results`; images are read from `run_dir` for the HTML."""
    env = environment()
    images = results.get("images") or {}
    context = {"r": results, "run_name": results.get("name") or Path(run_dir).name}
    md = env.get_template("report.md.j2").render(**context, images=images)
    embedded = {name: data_uri(Path(run_dir) / rel) for name, rel in images.items()}
    page = env.get_template("report.html.j2").render(**context, images={k: v for k, v in embedded.items() if v})
    return md, page
