"""YAML recipes in LitGPT's own key names, checked against the real LitGPT function and run in-process.

A recipe is the keyword arguments of one LitGPT job (`litgpt.finetune.lora.setup`,
`litgpt.generate.base.main` or `litgpt.scripts.merge_lora.merge_lora`) plus our keys `job`,
`merge` and `description`. Keys are checked against the function's signature, the
`TrainArgs`/`EvalArgs`/`LogArgs` dataclasses and the data module's `__init__` (unknown key ->
one-line error with the closest valid key); `precision: auto` becomes what works on this
machine. LitGPT 0.5.13's finetune_lora merges the LoRA weights into `out_dir/final` itself;
`merge: true` (the default) makes sure of it, merging when LitGPT did not. `run_job` skips a finetune whose `final/` checkpoint was made by the same resolved
recipe and data (hash in `final/workshop_recipe.json`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from workshop.errors import WorkshopError
from workshop.paths import PROJECT_ROOT
from workshop.typecheck import convert, convert_class_spec, import_class, suggest

JOBS = {
    "finetune_lora": "litgpt.finetune.lora:setup",
    "generate": "litgpt.generate.base:main",
    "merge_lora": "litgpt.scripts.merge_lora:merge_lora",
}
OUR_KEYS = {"job", "merge", "description"}
RECORD = "workshop_recipe.json"


def load_recipe(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read a recipe with `yaml.safe_load` and apply `--set a.b=value` overrides (values parsed as YAML).

    A relative path missing here is looked up in the project (`recipes/...` works from any folder).
    """
    path = Path(path)
    if not path.is_file() and not path.is_absolute() and (PROJECT_ROOT / path).is_file():
        path = PROJECT_ROOT / path
    if not path.is_file():
        raise WorkshopError(f"{path}: recipe not found; see recipes/ for the shipped ones")
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise WorkshopError(f"{path}{line}: not valid YAML ({getattr(e, 'problem', e)}); fix the file") from None
    if not isinstance(recipe, dict):
        raise WorkshopError(f"{path}: a recipe is a mapping of keys (job: ..., checkpoint_dir: ...), got {recipe!r}")
    for item in overrides:
        set_key(recipe, item)
    return recipe


def set_key(recipe: dict, item: str) -> None:
    """Apply one `a.b.c=value` override in place.

    List items are addressed by index (`steps.1.with.x=...`); a scalar on the way is
    replaced by a mapping (`--set data.init_args.prompt_style.class_path=...`).
    """
    if "=" not in item:
        raise WorkshopError(f"--set {item!r}: expected KEY=VALUE, e.g. --set train.max_steps=3")
    keypath, raw = item.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else None
    *parents, last = keypath.strip().split(".")
    node: Any = recipe
    for i, part in enumerate(parents):
        if isinstance(node, list):
            if not (part.isdigit() and int(part) < len(node)):
                raise WorkshopError(f"--set {item!r}: {'.'.join(parents[:i])} is a list of {len(node)}; use an index")
            node = node[int(part)]
            continue
        if not isinstance(node.get(part), (dict, list)):
            node[part] = {}
        node = node[part]
    if isinstance(node, list):
        if not (last.isdigit() and int(last) < len(node)):
            raise WorkshopError(f"--set {item!r}: {'.'.join(parents)} is a list of {len(node)}; use an index")
        node[int(last)] = value
    else:
        node[last] = value


def job_function(job: str, where: str = "<recipe>") -> Callable:
    """The LitGPT function behind a job name."""
    if job not in JOBS:
        raise WorkshopError(f"{where}: job: unknown job {job!r}{suggest(str(job), JOBS)}; use one of: {', '.join(JOBS)}")
    module, name = JOBS[job].split(":")
    return getattr(importlib.import_module(module), name)


def validate(recipe: dict, path: str | os.PathLike = "<recipe>") -> dict:
    """Check a job recipe against its LitGPT function and return it resolved.

    Resolved = every parameter present (defaults filled in, TrainArgs/EvalArgs fields
    included), `precision` fixed for this machine, plain YAML-able values.
    """
    from workshop.device import resolve_precision

    where = str(path)
    if "job" not in recipe:
        raise WorkshopError(f"{where}: missing key 'job'; add e.g. `job: finetune_lora` ({', '.join(JOBS)})")
    job = recipe["job"]
    func = job_function(job, where)
    params = inspect.signature(func).parameters
    for key in recipe:
        if key not in set(params) | OUR_KEYS:
            raise WorkshopError(f"{where}: unknown key '{key}'{suggest(key, set(params) | OUR_KEYS)} (job {job})")
    if "merge" in recipe and job != "finetune_lora":
        raise WorkshopError(f"{where}: key 'merge' only applies to job finetune_lora; remove it")
    hints = typing.get_type_hints(func)
    resolved: dict[str, Any] = {"job": job}
    if job == "finetune_lora":
        resolved["merge"] = convert(recipe.get("merge", True), bool, f"{where}: merge")
    if "description" in recipe:
        resolved["description"] = convert(recipe["description"], str, f"{where}: description")
    for name, param in params.items():
        if name not in recipe and param.default is inspect.Parameter.empty:
            raise WorkshopError(f"{where}: missing key '{name}' (required by {job})")
        value = recipe.get(name, _plain(param.default))
        resolved[name] = convert(value, hints.get(name, Any), f"{where}: {name}", default=param.default)
    if isinstance(resolved.get("optimizer"), dict):
        import torch

        convert_class_spec(resolved["optimizer"], torch.optim.Optimizer, f"{where}: optimizer", False, required=False)
    elif "optimizer" in resolved:
        import_class(resolved["optimizer"], ("torch.optim",), f"{where}: optimizer")
    style = ((resolved.get("data") or {}).get("init_args") or {}).get("prompt_style")
    if isinstance(style, str):
        from litgpt.prompts import prompt_styles

        if style not in prompt_styles:
            raise WorkshopError(f"{where}: data.init_args.prompt_style: unknown style {style!r}{suggest(style, prompt_styles)}")
    if "precision" in params:
        try:
            resolved["precision"] = resolve_precision(resolved.get("precision") or "auto")
        except WorkshopError as e:
            raise WorkshopError(f"{where}: precision: {e}") from None
    build_args(resolved, where, with_data=False)  # dataclass checks (e.g. warmup steps vs fraction) fail here too
    return resolved


def build_args(resolved: dict, where: str = "<recipe>", with_data: bool = True) -> dict:
    """Keyword arguments for the LitGPT function: Paths, TrainArgs/EvalArgs, a data module instance.

    Building the data module checks that its files exist, so a dry run passes
    `with_data=False` and `data` stays a spec.
    """
    func = job_function(resolved["job"], where)
    hints = typing.get_type_hints(func)
    kwargs = {}
    for name in inspect.signature(func).parameters:
        if name == "data" and not with_data:
            continue
        value = resolved.get(name)
        if name == "data" and isinstance(value, dict):
            for key, item in (value.get("init_args") or {}).items():
                if key.endswith("_path") and item is not None and not Path(item).exists():
                    raise WorkshopError(f"{where}: data.init_args.{key}: {item} does not exist; check the path")
        kwargs[name] = convert(value, hints.get(name, Any), f"{where}: {name}", build=True)
    return kwargs


def resolve_data_paths(resolved: dict) -> dict:
    """Relative data paths missing from the working directory fall back to the project root.

    So `data/instructions/...` in a shipped recipe works from any directory.
    """
    spec = resolved.get("data")
    if not isinstance(spec, dict):
        return resolved
    for key, value in (spec.get("init_args") or {}).items():
        if key.endswith("_path") and isinstance(value, str) and not Path(value).is_absolute():
            if not Path(value).exists() and (PROJECT_ROOT / value).exists():
                spec["init_args"][key] = str(PROJECT_ROOT / value)
    return resolved


def recipe_hash(resolved: dict) -> str:
    """sha256 of the resolved recipe, the data files' contents and the base weights' size and mtime."""
    settings = {k: v for k, v in resolved.items() if k != "description"}
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    spec = resolved.get("data") or {}
    for key, value in sorted((spec.get("init_args") or {}).items()):
        if key.endswith("_path") and value is not None:
            path = Path(value)
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for f in files:
                if f.is_file():
                    h.update(f.name.encode() + f.read_bytes())
    weights = Path(str(resolved.get("checkpoint_dir", ""))) / "lit_model.pth"
    if weights.is_file():
        stat = weights.stat()
        h.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()


def is_done(resolved: dict) -> bool:
    """True when `out_dir/final` holds merged weights made by this exact resolved recipe and data."""
    record = Path(resolved["out_dir"]) / "final" / RECORD
    if not (record.parent / "lit_model.pth").is_file() or not record.is_file():
        return False
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("hash") == recipe_hash(resolved)
    except json.JSONDecodeError:
        return False


def run_job(recipe: dict, force: bool = False, path: str | os.PathLike = "<recipe>") -> Path:
    """Validate and run one job recipe in-process; returns its out_dir (checkpoint_dir for generate/merge_lora)."""
    resolved = resolve_data_paths(validate(copy.deepcopy(recipe), path))
    job, where = resolved["job"], str(path)
    from workshop.checkpoints import resolve_checkpoint

    if job == "merge_lora":  # checkpoint_dir holds LoRA weights; the base model is pretrained_checkpoint_dir
        if not (Path(resolved["checkpoint_dir"]) / "lit_model.pth.lora").is_file():
            raise WorkshopError(f"{where}: checkpoint_dir: {resolved['checkpoint_dir']} has no lit_model.pth.lora; "
                                "point it at a finetune_lora out_dir/final")
        if resolved.get("pretrained_checkpoint_dir"):
            resolved["pretrained_checkpoint_dir"] = str(resolve_checkpoint(resolved["pretrained_checkpoint_dir"]))
    else:
        resolved["checkpoint_dir"] = str(resolve_checkpoint(resolved["checkpoint_dir"]))
    if resolved.get("quantize"):
        _check_quantize(resolved, where)
    if job == "finetune_lora":
        return _finetune(resolved, force, where)
    job_function(job)(**build_args(resolved, where))
    return Path(resolved["checkpoint_dir"])


def _finetune(resolved: dict, force: bool, where: str) -> Path:
    """LitGPT's finetune_lora (which merges into final/ itself), then our merge check and record."""
    from workshop.io import atomic_write_json

    out_dir = Path(resolved["out_dir"])
    final = out_dir / "final"
    if not force and is_done(resolved):
        print(f"workshop: {final} was made by this recipe and data; reusing it (--force to retrain)")
        return out_dir
    kwargs = build_args(resolved, where)
    with litgpt_argv(resolved, out_dir / "litgpt-config.yaml"):
        job_function("finetune_lora")(**kwargs)
    if resolved["merge"] and not (final / "lit_model.pth").is_file():
        job_function("merge_lora")(final, pretrained_checkpoint_dir=kwargs["checkpoint_dir"],
                                   precision=resolved["precision"])
    atomic_write_json(final / RECORD, {"hash": recipe_hash(resolved), "recipe": resolved})
    return out_dir


@contextlib.contextmanager
def litgpt_argv(resolved: dict, config_path: Path) -> Iterator[None]:
    """Point `sys.argv` at a LitGPT config file of the recipe while a LitGPT job runs.

    LitGPT's `save_hyperparameters` re-parses `sys.argv` to write `hyperparameters.yaml`
    (which `merge_lora` reads back), so in-process it must see our arguments, not pytest's
    or `workshop run`'s. The file also reruns as `litgpt finetune_lora --config FILE`.
    """
    from workshop.io import atomic_write_text

    config = {k: v for k, v in resolved.items() if k not in OUR_KEYS}
    atomic_write_text(config_path, yaml.safe_dump(config, sort_keys=False))
    saved = sys.argv
    sys.argv = ["litgpt", "--config", str(config_path)]
    try:
        yield
    finally:
        sys.argv = saved


def _check_quantize(resolved: dict, where: str) -> None:
    """bitsandbytes quantization needs a CUDA GPU and the bitsandbytes package."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise WorkshopError(f"{where}: quantize: {resolved['quantize']} needs a CUDA GPU; remove `quantize` on CPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise WorkshopError(f"{where}: quantize: needs bitsandbytes; pip install bitsandbytes")


def _plain(value: Any) -> Any:
    """A default value as YAML-able data (dataclass instances become dicts, Paths strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Path):
        return str(value)
    return value
