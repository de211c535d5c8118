"""`workshop run RECIPE.yaml`: validate a YAML recipe and run its LitGPT job (or pipeline) in-process."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a YAML recipe (finetune_lora, generate, merge_lora, or a steps: pipeline)",
                       description=__doc__)
    p.add_argument("recipe", help="path of the recipe, e.g. recipes/finetune/smollm2-135m-lora.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key, value parsed as YAML (repeatable), e.g. --set train.max_steps=3")
    p.add_argument("--dry-run", action="store_true", help="validate and print the resolved config; run nothing")
    p.add_argument("--force", action="store_true", help="rerun even when out_dir/final was made by the same recipe")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from workshop.recipes import load_recipe, run_job, validate

    recipe = load_recipe(args.recipe, args.overrides)
    if "steps" in recipe:
        from workshop.pipeline import run_pipeline

        run_pipeline(recipe, recipe_path=args.recipe, dry_run=args.dry_run, force=args.force)
        return 0
    if args.dry_run:
        resolved = validate(recipe, args.recipe)
        print(yaml.safe_dump(resolved, sort_keys=False).rstrip())
        print(f"# {args.recipe}: valid ({resolved['job']}); nothing was run (--dry-run)")
        return 0
    out = run_job(recipe, force=args.force, path=args.recipe)
    print(f"workshop: {recipe['job']} finished; output in {out}")
    return 0
