"""`workshop recipes`: the shipped recipes, by the name `workshop run NAME` takes."""

from __future__ import annotations

from typing import Any


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


def show(rows: list[dict[str, str]], **_: Any) -> None:
    """One line per recipe: name, kind, description; then how to run one."""
    from workshop.core.paths import RECIPES_DIR

    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['kind']:<13} {r['description']}")
    runnable = [r["name"] for r in rows if r["kind"] != "gpt preset"]
    example = f", e.g. `workshop run {runnable[0]} --dry-run`" if runnable else ""
    print(f"\nrun one with `workshop run NAME`{example}; files in {RECIPES_DIR}")
