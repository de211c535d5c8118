"""Render a finished pipeline run (`pipeline.json` + step folders) as report.md, report.html, results.json.

The report shows what a learner wants after the workshop's section 6: the settings, the
finetuning loss curve, the judge's score histograms and before/after table with CIs, a few
responses side by side, the MMLU table and how long each step took.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from pathlib import Path
from typing import Any

from workshop.errors import WorkshopError
from workshop.io import atomic_write_json, atomic_write_text, read_json


def _steps_of(log: dict, uses: str) -> list[dict]:
    return [s for s in log["steps"].values() if s["uses"] == uses and s.get("outputs")]


def read_losses(metrics_csv: Path) -> dict[str, list[tuple[float, float]]]:
    """(step, value) series for every loss column of LitGPT's CSV logger file."""
    series: dict[str, list[tuple[float, float]]] = {}
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            step = row.get("step") or row.get("iter") or ""
            for col, value in row.items():
                if col and "loss" in col and value not in ("", None) and step != "":
                    series.setdefault(col, []).append((float(step), float(value)))
    return series


def plot_finetune_loss(series: dict[str, list[tuple[float, float]]], path: Path) -> Path:
    """Training and validation loss against the optimizer step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, points in sorted(series.items()):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("LoRA finetuning loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _ends(points: list[tuple[float, float]], window: int = 5) -> dict[str, float]:
    """First and last value of a loss series, and means over its first/last `window` points (per-step losses are noisy)."""
    values = [v for _, v in points]
    head, tail = values[:window], values[-window:]
    return {"first": values[0], "last": values[-1], "first_mean": sum(head) / len(head),
            "last_mean": sum(tail) / len(tail), "n": len(values)}


def collect(run_dir: Path) -> dict[str, Any]:
    """Every figure of a run as one JSON-able dict (the content of results.json)."""
    log = read_json(run_dir / "pipeline.json")
    results: dict[str, Any] = {"name": log.get("name"), "recipe": log.get("recipe"), "settings": {}, "timings": {}}
    for name, step in log["steps"].items():
        results["timings"][name] = {"seconds": round(step.get("seconds", 0.0), 1), "reused": step.get("reused", False)}
        results["settings"][name] = {"uses": step["uses"], "with": step["with"]}
    for step in _steps_of(log, "finetune_lora"):
        metrics = step["outputs"].get("metrics")
        if metrics and Path(metrics).is_file():
            series = read_losses(Path(metrics))
            results["finetune"] = {col: _ends(pts) for col, pts in series.items()}
            results["finetune"]["metrics_csv"] = metrics
    for step in _steps_of(log, "judge"):
        results["judge"] = read_json(step["outputs"]["summary"])
        results["judge_dir"] = step["outputs"]["out_dir"]
    for step in _steps_of(log, "respond"):
        results["responses"] = step["outputs"]["data"]  # the last respond step holds every key
    for step in _steps_of(log, "mmlu"):
        if "skipped" in step["outputs"]:
            results["mmlu"] = {"skipped": step["outputs"]["skipped"]}
            continue
        table: dict[str, dict[str, float]] = {}
        for model, path in step["outputs"]["results"].items():
            tasks = read_json(path).get("results", {})
            table[model] = {t: r.get("acc,none") for t, r in tasks.items() if "acc,none" in r}
        results["mmlu"] = table
    return results


def _flatten(args: dict, prefix: str = "") -> dict[str, Any]:
    """`{"train": {"max_steps": 2}}` -> `{"train.max_steps": 2}`, for the settings table."""
    flat: dict[str, Any] = {}
    for k, v in args.items():
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def _fmt(x: Any, digits: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(results: dict[str, Any], run_dir: Path, examples: int = 3) -> str:
    """The report as Markdown, with images referenced relative to the run folder."""
    lines = [f"# workshop report: {results.get('name') or run_dir.name}", ""]
    lines += ["## Settings", "", "| step | uses | arguments |", "|---|---|---|"]
    for name, s in results["settings"].items():
        args = ", ".join(f"{k}={v}" for k, v in _flatten(s["with"]).items())
        lines.append(f"| {name} | {s['uses']} | {args} |")
    if "finetune" in results:
        lines += ["", "## Finetuning", "", "![loss curve](loss.png)", "",
                  "| series | first | last | mean of first 5 | mean of last 5 | points |", "|---|---|---|---|---|---|"]
        lines += [f"| {c} | {v['first']:.3f} | {v['last']:.3f} | {v['first_mean']:.3f} | {v['last_mean']:.3f} | {v['n']} |"
                  for c, v in results["finetune"].items() if isinstance(v, dict)]
    judge = results.get("judge")
    if judge:
        lines += ["", f"## Judge ({judge.get('judge')}, mode {judge.get('mode')})", "",
                  "| key | scored / total | mean | 95 % CI | median | std |", "|---|---|---|---|---|---|"]
        for key, k in judge["keys"].items():
            ci = k.get("ci95") or [None, None]
            lines.append(f"| {key} | {k['n_scored']} / {k['n']} | {_fmt(k['mean'])} | [{_fmt(ci[0])}, {_fmt(ci[1])}] "
                         f"| {_fmt(k['median'])} | {_fmt(k['std'])} |")
        paired = judge.get("paired")
        if paired:
            shown = {k: [round(x, 2) for x in v] if isinstance(v, list) else round(v, 4) if isinstance(v, float) else v
                     for k, v in paired.items() if not isinstance(v, dict)}
            lines += ["", "Paired difference: " + ", ".join(f"{k} = {v}" for k, v in shown.items())]
        lines += ["", f"![scores]({Path(results['judge_dir']).relative_to(run_dir)}/scores.png)"]
        if paired:
            lines += [f"![paired]({Path(results['judge_dir']).relative_to(run_dir)}/paired.png)"]
    if results.get("responses") and judge:
        keys = list(judge["keys"])
        entries = read_json(results["responses"])[:examples]
        lines += ["", "## Example responses", "", "| instruction | expected | " + " | ".join(keys) + " |",
                  "|---|---|" + "---|" * len(keys)]
        for e in entries:
            cells = [e.get("instruction", ""), e.get("output", "")] + [str(e.get(k, "")) for k in keys]
            lines.append("| " + " | ".join(c.replace("\n", " ").replace("|", "\\|") for c in cells) + " |")
    mmlu = results.get("mmlu")
    if mmlu:
        lines += ["", "## MMLU", ""]
        if "skipped" in mmlu:
            lines.append(f"Skipped: {mmlu['skipped']}")
        else:
            tasks = sorted({t for accs in mmlu.values() for t in accs})
            lines += ["| task | " + " | ".join(mmlu) + " |", "|---|" + "---|" * len(mmlu)]
            lines += [f"| {t} | " + " | ".join(_fmt(mmlu[m].get(t), 3) for m in mmlu) + " |" for t in tasks]
    lines += ["", "## Timings", "", "| step | seconds | reused |", "|---|---|---|"]
    lines += [f"| {n} | {t['seconds']} | {'yes' if t['reused'] else ''} |" for n, t in results["timings"].items()]
    lines.append(f"| total | {sum(t['seconds'] for t in results['timings'].values()):.1f} | |")
    return "\n".join(lines) + "\n"


def to_html(md: str, run_dir: Path) -> str:
    """A self-contained HTML page from the report's Markdown (tables, headings, embedded images)."""
    body, table = [], False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if set("".join(cells)) <= set("-|"):
                continue
            tag = "th" if not table else "td"
            body.append(("<table>" if not table else "") + "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>")
            table = True
            continue
        if table:
            body.append("</table>")
            table = False
        if line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            data = base64.b64encode((run_dir / src.rstrip(")")).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    if table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px;vertical-align:top}img{max-width:100%}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>workshop report</title><style>{style}</style></head><body>{''.join(body)}</body></html>"


def write_report(run_dir: Path) -> dict[str, Path]:
    """Re-render report.md, report.html and results.json (and loss.png) of a finished pipeline run.

    Args:
        run_dir: the run folder (holds pipeline.json), e.g. out/quickstart
    """
    run_dir = Path(run_dir)
    if not (run_dir / "pipeline.json").is_file():
        raise WorkshopError(f"{run_dir}: no pipeline.json here; point at a run folder (e.g. out/quickstart)")
    results = collect(run_dir)
    if "finetune" in results:
        plot_finetune_loss(read_losses(Path(results["finetune"]["metrics_csv"])), run_dir / "loss.png")
    md = markdown(results, run_dir)
    return {
        "report_md": atomic_write_text(run_dir / "report.md", md),
        "report_html": atomic_write_text(run_dir / "report.html", to_html(md, run_dir)),
        "results": atomic_write_json(run_dir / "results.json", results),
    }
