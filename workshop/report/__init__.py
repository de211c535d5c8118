"""The report of a pipeline run: collected into results.json, then rendered as report.md and report.html.

`collect` gathers every figure (settings, timings, loss curve, judge, MMLU, classification,
examples) and the verdict (`workshop.report.verdict`); `render` turns that dict into both files with
Jinja2 templates. The report opens with the verdict — did the finetune help, how sure — then
the judge, MMLU, classification, example responses, the finetuning curve, and settings last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_json, atomic_write_text, read_json


def write_report(run_dir: Path, from_results: bool = False) -> dict[str, Any]:
    """Re-render report.md, report.html and results.json (and loss.png) of a finished pipeline run, and send its
    figures to the finetune's tracker when the recipe names a `logger_name`.

    Args:
        run_dir: the run folder (holds pipeline.json), e.g. out/quickstart
        from_results: render the run folder's results.json as it is (no re-collecting)
    """
    from workshop.report.collect import collect
    from workshop.report.loss import plot_finetune_loss, read_losses
    from workshop.report.render import render

    run_dir = Path(run_dir)
    if from_results:
        if not (run_dir / "results.json").is_file():
            raise WorkshopError(f"{run_dir}: no results.json here; run `workshop report {run_dir}` without --from-results")
        results = read_json(run_dir / "results.json")
    else:
        if not (run_dir / "pipeline.json").is_file():
            raise WorkshopError(f"{run_dir}: no pipeline.json here; point at a run folder (e.g. out/quickstart)")
        results = collect(run_dir)
        if "finetune" in results:
            series, final_val = read_losses(run_dir / results["finetune"]["metrics_csv"])
            plot_finetune_loss(series, run_dir / "loss.png", final_val)
    md, page = render(results, run_dir)
    written: dict[str, Any] = {
        "results": atomic_write_json(run_dir / "results.json", results),
        "report_md": atomic_write_text(run_dir / "report.md", md),
        "report_html": atomic_write_text(run_dir / "report.html", page),
    }
    if (run_dir / "pipeline.json").is_file():  # the finetune's logger_name: figures and report to the same tracker run
        from workshop.report.trackers import log_to_tracker

        written.update({f"tracker {name}": where for name, where in log_to_tracker(results, run_dir).items()})
    return written
