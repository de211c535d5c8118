"""YAML recipes in LitGPT's own key names, parsed by the jsonargparse parser LitGPT builds for its function.

A recipe is the keyword arguments of one LitGPT job (`litgpt.finetune.lora.setup`,
`litgpt.generate.base.main` or `litgpt.scripts.merge_lora.merge_lora`) plus our keys `job`,
`merge` and `description`. The keys go through jsonargparse with that function's signature,
exactly as `litgpt finetune_lora --config FILE` reads them (LitGPT's defaults filled in);
on top we check ranges LitGPT leaves open (a negative `lora_r`; `RANGES`, by type), the
settings LitGPT rejects only mid-run (`workshop.run.litgpt_limits`), that the checkpoint and
data files exist, and turn `precision: auto` into what works on this machine. Errors are one
line, every problem together, with the closest valid key.

Relative paths in a recipe are relative to the working directory, as on the command line
(LitGPT's rule); `workshop:PATH` names a file shipped with the toolkit (e.g.
`workshop:data/instructions/instruction-data.json`). LitGPT 0.5.13's finetune_lora merges the
LoRA weights into `out_dir/final` itself; `merge: true` (the default) makes sure of it.
`run_job` skips a finetune whose `final/` checkpoint was made by the same resolved recipe and
data (hash in `final/workshop_recipe.json`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from workshop.core.errors import WorkshopError, suggest
from workshop.core.io import atomic_write_json, atomic_write_text, read_json
from workshop.core.paths import SHIPPED, user_path
from workshop.core.types import (
    ClosedUnitInterval, NonNegativeFloat, NonNegativeInt, OpenUnitInterval, PositiveInt,
)
from workshop.core.checks import problems, value_problem
from workshop.run.args import build_parser
from workshop.run.litgpt_limits import check_finetune_settings, ranks

JOBS = {
    "finetune_lora": "litgpt.finetune.lora:setup",
    "generate": "litgpt.generate.base:main",
    "merge_lora": "litgpt.scripts.merge_lora:merge_lora",
}
OUR_KEYS = {"job", "merge", "description"}
RECORD = "workshop_recipe.json"
CLASS_KEYS = {"data": ("litgpt.data",), "optimizer": ("torch.optim",)}  # keys taking {class_path, init_args}
# Ranges LitGPT's annotations leave open (plain int/float), as the constrained types that check them.
RANGES = {
    "lora_r": PositiveInt, "lora_alpha": PositiveInt, "lora_dropout": ClosedUnitInterval, "num_nodes": PositiveInt,
    "seed": NonNegativeInt, "max_new_tokens": PositiveInt, "num_samples": PositiveInt, "temperature": NonNegativeFloat,
    "train.global_batch_size": PositiveInt, "train.micro_batch_size": PositiveInt, "train.epochs": PositiveInt,
    "train.max_steps": PositiveInt, "train.max_seq_length": PositiveInt, "train.log_interval": PositiveInt,
    "train.lr_warmup_steps": NonNegativeInt, "train.min_lr": NonNegativeFloat, "train.save_interval": PositiveInt,
    "eval.interval": PositiveInt, "eval.max_iters": PositiveInt, "eval.max_new_tokens": PositiveInt,
    "data.init_args.val_split_fraction": OpenUnitInterval,
}


def shipped_paths(value: Any) -> Any:
    """Replace `workshop:PATH` strings (anywhere in a recipe) with the shipped file's path."""
    if isinstance(value, dict):
        return {k: shipped_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shipped_paths(v) for v in value]
    if isinstance(value, str) and value.startswith(SHIPPED):
        return str(user_path(value))
    return value


def load_recipe(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> dict:
    """Read a recipe with `yaml.safe_load` and apply `--set a.b=value` overrides (values parsed as YAML).

    `path` is a file, or the name of a shipped recipe (`smollm2-135m-lora`, `pipelines/quickstart`).
    """
    path = find_recipe(path)
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
    return shipped_paths(recipe)


def find_recipe(name: str | os.PathLike) -> Path:
    """A recipe file as given, else a shipped one by name (with or without folder and .yaml)."""
    from workshop.core.paths import RECIPES_DIR

    path = Path(name)
    if path.is_file():
        return path
    shipped = sorted(RECIPES_DIR.rglob("*.yaml"))
    stem = str(name).removesuffix(".yaml").removeprefix("recipes/")
    for candidate in shipped:
        rel = candidate.relative_to(RECIPES_DIR).with_suffix("")
        if stem in (str(rel), rel.name):
            return candidate
    names = [str(p.relative_to(RECIPES_DIR).with_suffix("")) for p in shipped]
    raise WorkshopError(f"{name}: recipe not found{suggest(stem, names)} (a YAML file, or a shipped recipe name)")


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


def litgpt_parser(job: str, where: str = "<recipe>") -> Any:
    """The jsonargparse parser for LitGPT's job function, as `litgpt JOB --config FILE` builds it."""
    return build_parser(job_function(job, where), f"litgpt {job}")


def _parse(recipe: dict, where: str) -> tuple[Any, Any]:
    """(parser, namespace) for a job recipe; every unknown key and ill-typed value reported in one line."""
    import typing

    if "job" not in recipe:
        raise WorkshopError(f"{where}: missing key 'job'; add e.g. `job: finetune_lora` ({', '.join(JOBS)})")
    job = recipe["job"]
    parser = litgpt_parser(job, where)
    values = {k: v for k, v in recipe.items() if k not in OUR_KEYS}
    if "merge" in recipe and job != "finetune_lora":
        raise WorkshopError(f"{where}: key 'merge' only applies to job finetune_lora; remove it")
    for key, modules in CLASS_KEYS.items():
        if isinstance(values.get(key), dict):
            values[key] = _check_class_spec(values[key], modules, f"{where}: {key}")
    hints = {k: v for k, v in typing.get_type_hints(job_function(job)).items() if k != "return"}
    found = problems(hints, values)
    found += [f"{name}: missing; it is required" for name, p in inspect.signature(job_function(job)).parameters.items()
              if p.default is inspect.Parameter.empty and values.get(name) is None]
    if found:
        raise WorkshopError(f"{where}: {'; '.join(found)} (job {job})")
    try:
        return parser, parser.parse_object(values)
    except Exception as e:  # what the checks above do not cover: jsonargparse's own words, on one line
        raise WorkshopError(f"{where}: {' '.join(str(e).split())} (job {job})") from None


def _check_class_spec(spec: dict, modules: tuple[str, ...], where: str) -> dict:
    """A `{class_path, init_args}` value: the class found (short names too) and its init_args
    named, so a typo gets "did you mean" before jsonargparse's nested Union message."""
    import inspect

    path = spec.get("class_path")
    if not isinstance(path, str):
        raise WorkshopError(f"{where}.class_path: missing; give a class, e.g. {modules[0]}.{'JSON' if 'data' in modules[0] else 'AdamW'}")
    module_name, _, name = path.rpartition(".")
    candidates = {n: m for m in ([module_name] if module_name else modules) for n in dir(importlib.import_module(m))
                  if inspect.isclass(getattr(importlib.import_module(m), n))}
    if name not in candidates:
        raise WorkshopError(f"{where}.class_path: no class {name!r} in {' or '.join(dict.fromkeys(candidates.values()))}"
                            f"{suggest(name, candidates)}")
    cls = getattr(importlib.import_module(candidates[name]), name)
    params = set(inspect.signature(cls).parameters)
    for key, value in (spec.get("init_args") or {}).items():
        if key not in params:
            raise WorkshopError(f"{where}.init_args.{key}: unknown key{suggest(key, params)} ({name})")
    style = (spec.get("init_args") or {}).get("prompt_style")
    if isinstance(style, str):
        from litgpt.prompts import prompt_styles

        if style not in prompt_styles:
            raise WorkshopError(f"{where}.init_args.prompt_style: unknown style {style!r}{suggest(style, prompt_styles)}")
    return {**spec, "class_path": f"{cls.__module__}.{name}" if not module_name else path}


def validate(recipe: dict, path: str | os.PathLike = "<recipe>", check_files: bool = True) -> dict:
    """The recipe as LitGPT's parser resolves it (its defaults filled in), checked and made runnable here.

    Checks on top of the parser: value ranges, `precision: auto` fixed for this machine and,
    with `check_files`, that the checkpoint and the data files exist.
    """
    from workshop.models.device import resolve_precision

    where = str(path)
    parser, cfg = _parse(recipe, where)
    resolved = {"job": recipe["job"]}
    if recipe["job"] == "finetune_lora":
        resolved["merge"] = recipe.get("merge", True)
        if not isinstance(resolved["merge"], bool):
            raise WorkshopError(f"{where}: merge: expected true or false, got {resolved['merge']!r}")
    if "description" in recipe:
        resolved["description"] = str(recipe["description"])
    resolved.update(yaml.safe_load(parser.dump(cfg, skip_none=False, skip_check=True)))
    _check_ranges(resolved, where)
    if resolved["job"] == "finetune_lora":
        check_finetune_settings(resolved, where)
    if resolved.get("quantize") and ranks(resolved) > 1:  # LitGPT's finetune_lora raises this only once running
        raise WorkshopError(f"{where}: quantize: LitGPT quantizes single-device runs only; set devices: 1 and "
                            "num_nodes: 1, or drop quantize for the multi-GPU (FSDP) run")
    for section, cls_path in (("train", "litgpt.args:TrainArgs"), ("eval", "litgpt.args:EvalArgs")):
        if isinstance(resolved.get(section), dict):  # their __post_init__ checks (warmup steps vs fraction)
            module, name = cls_path.split(":")
            try:
                getattr(importlib.import_module(module), name)(**resolved[section])
            except (ValueError, TypeError) as e:
                raise WorkshopError(f"{where}: {section}: {e}") from None
    if "precision" in resolved:
        try:
            resolved["precision"] = resolve_precision(resolved.get("precision") or "auto")
        except WorkshopError as e:
            raise WorkshopError(f"{where}: precision: {e}") from None
    if check_files:
        _check_files(resolved, where)
    return resolved


def _check_ranges(resolved: dict, where: str) -> None:
    """Every resolved value in RANGES checked by its type; all problems in one line."""
    found = []
    for dotted, kind in RANGES.items():
        *path, key = dotted.split(".")
        node: Any = resolved
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        value = node.get(key) if isinstance(node, dict) else None
        problem = value_problem(value, kind) if value is not None else None
        if problem:
            found.append(f"{dotted}: {problem}")
    if found:
        raise WorkshopError(f"{where}: {'; '.join(found)}")


def _check_files(resolved: dict, where: str) -> None:
    """The checkpoint and the data files a run would read (relative paths: to the working directory)."""
    from workshop.models.checkpoints import resolve_checkpoint

    key = "pretrained_checkpoint_dir" if resolved["job"] == "merge_lora" else "checkpoint_dir"
    if resolved.get(key):
        try:
            resolved[key] = str(resolve_checkpoint(resolved[key]))
        except WorkshopError as e:
            raise WorkshopError(f"{where}: {key}: {e}") from None
    for name, value in ((resolved.get("data") or {}).get("init_args") or {}).items():
        if name.endswith("_path") and value is not None and not Path(value).exists():
            raise WorkshopError(f"{where}: data.init_args.{name}: {value} does not exist (relative paths are relative "
                                f"to the working directory, {Path.cwd()}; `workshop:data/...` names shipped data)")


def build_args(resolved: dict, where: str = "<recipe>") -> dict:
    """Keyword arguments for the LitGPT function: Paths, TrainArgs/EvalArgs, a data module instance."""
    parser, cfg = _parse({k: v for k, v in resolved.items() if k not in ("merge", "description")}, where)
    init = parser.instantiate_classes(cfg)
    params = inspect.signature(job_function(resolved["job"], where)).parameters
    return {name: init[name] for name in params if name in init}


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
    resolved = validate(copy.deepcopy(recipe), path)
    job, where = resolved["job"], str(path)
    if job == "merge_lora" and not (Path(resolved["checkpoint_dir"]) / "lit_model.pth.lora").is_file():
        raise WorkshopError(f"{where}: checkpoint_dir: {resolved['checkpoint_dir']} has no lit_model.pth.lora; "
                            "point it at a finetune_lora out_dir/final")
    if resolved.get("quantize"):
        _check_quantize(resolved, where)
    _check_devices(resolved, where)
    if job == "finetune_lora":
        return _finetune(resolved, force, where)
    job_function(job)(**build_args(resolved, where))
    return Path(resolved["checkpoint_dir"])


class FinetuneStepKeys:
    """How a pipeline reads the `finetune_lora` step's `with:`: LitGPT's own keys, through `validate`."""

    def keys(self) -> set[str]:
        """The keys: `litgpt finetune_lora`'s parameters, plus `merge` and `description`."""
        return set(inspect.signature(job_function("finetune_lora")).parameters) | OUR_KEYS - {"job"}

    def __call__(self, values: dict, where: str, final: bool) -> dict:
        """Check `values` as a finetune_lora recipe (before the run, a missing checkpoint may be an earlier step's)."""
        validate({"job": "finetune_lora", "checkpoint_dir": "checkpoint", **values}, where, check_files=final)
        return values


parse_finetune_step = FinetuneStepKeys()


def finetune_step(step_dir: Path, **recipe: Any) -> dict[str, Any]:
    """Pipeline step `finetune_lora`: LitGPT keys, out_dir defaulting to the step folder; returns its outputs.

    `metrics` is the one metrics.csv that holds every step (a resumed run appends to it).
    """
    recipe.setdefault("out_dir", str(step_dir / "lora"))
    out_dir = run_job({"job": "finetune_lora", **recipe}, path="step finetune_lora")
    record = read_json(Path(out_dir) / "final" / RECORD)
    return {"checkpoint": str(Path(out_dir) / "final"), "out_dir": str(out_dir), "metrics": record.get("metrics")}


def _finetune(resolved: dict, force: bool, where: str) -> Path:
    """LitGPT's finetune_lora, resumable (workshop.finetune.run), then our merge check and record."""
    from workshop.finetune.resume import STATE_PATH
    from workshop.finetune.run import run_finetune

    out_dir = Path(resolved["out_dir"])
    final = out_dir / "final"
    if not force and is_done(resolved):
        print(f"workshop: {final} was made by this recipe and data; reusing it (--force to retrain)")
        return out_dir
    kwargs = build_args(resolved, where)
    digest = recipe_hash(resolved)
    with litgpt_argv(resolved, out_dir / "litgpt-config.yaml"):
        run = run_finetune(kwargs, out_dir, digest, force=force)
    if resolved["merge"] and not (final / "lit_model.pth").is_file():
        job_function("merge_lora")(final, pretrained_checkpoint_dir=kwargs["checkpoint_dir"],
                                   precision=resolved["precision"])
    atomic_write_json(final / RECORD, {"hash": digest, "recipe": resolved, "metrics": run["metrics"],
                                       "log": run["log"], "final_val_loss": run["final_val_loss"]})
    state = out_dir / STATE_PATH  # final/ holds the result; the resume state is spent
    state.unlink(missing_ok=True)
    if state.parent.is_dir() and not any(state.parent.iterdir()):
        state.parent.rmdir()
    loss = run["final_val_loss"]
    print(f"workshop: finetuned {run['steps']} steps" + (f"; final val loss {loss:.3f}" if loss is not None else "")
          + f"; weights in {final}, metrics in {run['metrics']}, LitGPT's log in {run['log']}")
    return out_dir


@contextlib.contextmanager
def litgpt_argv(resolved: dict, config_path: Path) -> Iterator[None]:
    """Point `sys.argv` at a LitGPT config file of the recipe while a LitGPT job runs.

    LitGPT's `save_hyperparameters` re-parses `sys.argv` to write `hyperparameters.yaml`
    (which `merge_lora` reads back), so in-process it must see our arguments, not pytest's
    or `workshop run`'s. The file also reruns as `litgpt finetune_lora --config FILE`.
    """

    config = {k: v for k, v in resolved.items() if k not in OUR_KEYS}
    atomic_write_text(config_path, yaml.safe_dump(config, sort_keys=False))
    saved = sys.argv
    sys.argv = ["litgpt", "--config", str(config_path)]
    try:
        yield
    finally:
        sys.argv = saved


def _check_devices(resolved: dict, where: str) -> None:
    """A multi-GPU recipe on a machine with fewer GPUs fails here in one line, not inside Lightning."""
    import torch

    devices = resolved.get("devices", 1)
    if not str(devices).isdigit() or int(devices) <= 1:
        return
    found = torch.cuda.device_count()
    if found < int(devices):
        raise WorkshopError(f"{where}: devices: {devices} GPUs wanted, {found} found here; set devices: {max(found, 1)} "
                            "(or use the single-GPU recipe)")


def _check_quantize(resolved: dict, where: str) -> None:
    """bitsandbytes quantization needs a CUDA GPU and the bitsandbytes package."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise WorkshopError(f"{where}: quantize: {resolved['quantize']} needs a CUDA GPU; remove `quantize` on CPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise WorkshopError(f"{where}: quantize: needs bitsandbytes; pip install bitsandbytes")
