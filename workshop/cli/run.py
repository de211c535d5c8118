"""`workshop run RECIPE`: a LitGPT job recipe (finetune_lora, generate, merge_lora) or a `steps:` pipeline."""

from __future__ import annotations

from pathlib import Path


def run(recipe: str, overrides: list[str] = [], dry_run: bool = False, force: bool = False) -> None:  # noqa: B006
    """Run a YAML recipe in-process: a LitGPT job (finetune_lora, generate, merge_lora) or a steps: pipeline.

    `--dry-run` prints the config LitGPT's own parser produces (its defaults filled in) and
    checks that the checkpoint and data files exist, running nothing.

    Args:
        recipe: a recipe file, or a shipped recipe's name (smollm2-135m-lora, pipelines/quickstart; see `workshop recipes`)
        overrides: KEY=VALUE to override a key, the value parsed as YAML, e.g. --set train.max_steps=3 (repeatable)
        dry_run: validate and print the resolved config; run nothing
        force: rerun even when the output was made by the same recipe
    """
    import yaml

    from workshop.run.recipes import find_recipe, load_recipe, run_job, validate

    path = find_recipe(recipe)
    loaded = load_recipe(path, overrides)
    if "steps" in loaded:
        from workshop.run.pipeline import run_pipeline

        run_pipeline(loaded, recipe_path=path, dry_run=dry_run, force=force)
        return
    if dry_run:  # the config as LitGPT's parser resolves it first, then the files it needs
        resolved = validate(loaded, path, check_files=False)
        print(yaml.safe_dump(resolved, sort_keys=False).rstrip())
        validate(loaded, path)
        print(f"# {path}: valid ({resolved['job']}); nothing was run (--dry-run)")
        return
    out = run_job(loaded, force=force, path=path)
    print(f"workshop: {loaded['job']} finished; output in {Path(out)}")
