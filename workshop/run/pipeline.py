"""Pipeline recipes: `steps:` chained in one YAML, each step cached by its inputs.

A pipeline recipe has `name`, `out_dir`, optional `vars` and a list of `steps`, each
`{name, uses, with}`: `uses` is a job's step name in the job table (`workshop.run.jobs.STEPS`),
`with` the keyword arguments of its job, parsed by the same signature as the CLI verb. A value
`${step.output}` (or `${vars.x}`, `${run_dir}`) is replaced by an earlier step's output.
Each step writes `out_dir/<name>/step.json`: a finished step whose inputs hash is unchanged
is reused; an interrupted one resumes in its own folder (respond and judge keep progress
files); a step whose inputs changed starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError, suggest
from workshop.core.io import atomic_write_json, read_json
from workshop.run.args import parse_values
from workshop.run.jobs import STEPS, Job, target

TOP_KEYS = {"name", "description", "out_dir", "vars", "steps"}
STEP_KEYS = {"name", "uses", "with"}
REF = re.compile(r"\$\{([A-Za-z_][\w-]*)(?:\.([\w-]+))?\}")


def validate_pipeline(recipe: dict, path: str | Path = "<recipe>") -> list[dict]:
    """Check keys, step kinds, step arguments and references; return the steps."""
    where = str(path)
    for key in recipe:
        if key not in TOP_KEYS:
            raise WorkshopError(f"{where}: unknown key '{key}'{suggest(key, TOP_KEYS)} (pipeline recipe)")
    steps = recipe.get("steps")
    if not isinstance(steps, list) or not steps:
        raise WorkshopError(f"{where}: steps: expected a list of {{name, uses, with}} mappings")
    seen = {"vars", "run_dir"}
    for i, step in enumerate(steps):
        at = f"{where}: steps.{i}"
        if not isinstance(step, dict) or "uses" not in step or "name" not in step:
            raise WorkshopError(f"{at}: each step needs 'name' and 'uses' (one of: {', '.join(STEPS)})")
        for key in step:
            if key not in STEP_KEYS:
                raise WorkshopError(f"{at}: unknown key '{key}'{suggest(key, STEP_KEYS)}")
        name, uses, args = step["name"], step["uses"], step.get("with") or {}
        if uses not in STEPS:
            raise WorkshopError(f"{at}.uses: unknown step kind '{uses}'{suggest(uses, STEPS)}")
        if name in seen:
            raise WorkshopError(f"{at}.name: step name '{name}' is used twice; names must be unique")
        for ref, _ in REF.findall(json.dumps(args)):
            if ref not in seen:
                raise WorkshopError(f"{at}.with: ${{{ref}...}} refers to no earlier step{suggest(ref, seen)}")
        _check_args(uses, args, f"{at}.with")
        seen.add(name)
    return steps


def _check_args(uses: str, args: dict, where: str) -> dict[str, Any]:
    """A step's `with:` parsed by its job's signature (or the job's own parser); defaults filled.

    Before the run, values that reference earlier steps (`${...}`) are left out and required
    keys may be missing; once interpolated (`final`), every key is checked.
    """
    final = not REF.search(json.dumps(args))
    known = {k: v for k, v in args.items() if not REF.search(json.dumps(v))}
    job = STEPS[uses]
    valid = _step_params(job)
    for key in args:
        if key not in valid:
            raise WorkshopError(f"{where}: unknown key '{key}'{suggest(key, valid)} (step {uses})")
    if job.parse:
        return target(job.parse)(known, where, final)
    return parse_values(target(job.target), known, where, skip=set(job.owns), check_required=final)


def _step_params(job: Job) -> set[str]:
    """The `with:` keys a step takes: its job's parameters (or its parser's keys), less those the step fills."""
    import inspect

    keys = target(job.parse).keys() if job.parse else set(inspect.signature(target(job.target)).parameters)
    return set(keys) - set(job.owns)


def interpolate(value: Any, scope: dict[str, dict[str, Any]]) -> Any:
    """Replace `${step.key}` references in strings (a whole-string reference keeps its type)."""
    if isinstance(value, dict):
        return {k: interpolate(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, scope) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(m: re.Match) -> Any:
        step, key = m.group(1), m.group(2)
        outputs = scope.get(step)
        if outputs is None or (key is not None and key not in outputs):
            raise WorkshopError(f"${{{step}.{key}}}: no such output; outputs of {step}: {', '.join(outputs or [])}")
        return outputs if key is None else outputs[key]

    whole = REF.fullmatch(value)
    if whole:
        return lookup(whole)
    return REF.sub(lambda m: str(lookup(m)), value)


def _fingerprint(value: Any, run_dir: Path) -> list[str]:
    """Size and mtime of existing files/dirs an argument names outside the run folder."""
    marks = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, (str, Path)) and len(str(v)) < 4096 and Path(v).exists() and run_dir.resolve() not in Path(v).resolve().parents:
            p = Path(v)
            files = [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file())
            marks += [f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    return marks


def step_hash(uses: str, args: dict, upstream: list[str], run_dir: Path) -> str:
    """What a step's result depends on: its kind, arguments, upstream steps and input files."""
    marks = [m for v in args.values() for m in _fingerprint(v, run_dir)]
    blob = json.dumps({"uses": uses, "with": args, "upstream": upstream, "files": marks}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def run_pipeline(
    recipe: dict, recipe_path: str | Path = "<recipe>", out_dir: str | Path | None = None,
    dry_run: bool = False, force: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run (or with `dry_run`, validate and list) every step; returns each step's outputs."""
    steps = validate_pipeline(recipe, recipe_path)
    run_dir = Path(out_dir or recipe.get("out_dir") or f"out/{recipe.get('name', 'pipeline')}")
    if dry_run:
        for step in steps:
            print(f"{step['name']:<16} uses {step['uses']:<14} {json.dumps(step.get('with') or {})}")
        print(f"{len(steps)} steps valid; outputs would go to {run_dir}")
        return {}
    run_dir.mkdir(parents=True, exist_ok=True)
    scope: dict[str, dict[str, Any]] = {"vars": recipe.get("vars") or {}, "run_dir": {"path": str(run_dir)}}
    hashes: dict[str, str] = {}
    log: dict[str, Any] = {"name": recipe.get("name"), "recipe": str(recipe_path), "steps": {}}
    for step in steps:
        name, uses = step["name"], step["uses"]
        raw = step.get("with") or {}
        args = _check_args(uses, interpolate(raw, scope), f"{recipe_path}: steps.{name}.with")
        refs = hashes if STEPS[uses].reads_run else {r for r, _ in REF.findall(json.dumps(raw))}
        upstream = sorted(hashes[r] for r in refs if r in hashes)
        digest = step_hash(uses, args, upstream, run_dir)
        record = _run_step(name, uses, args, digest, run_dir, force)
        scope[name], hashes[name] = record["outputs"], digest
        log["steps"][name] = {"uses": uses, "with": json.loads(json.dumps(args, default=str)), **record}
        atomic_write_json(run_dir / "pipeline.json", log)
    return {name: scope[name] for name in log["steps"]}


def _run_step(name: str, uses: str, args: dict, digest: str, run_dir: Path, force: bool) -> dict[str, Any]:
    """Run one step unless its finished record matches `digest`; keep a resumable folder otherwise."""
    step_dir = run_dir / name
    record_path = step_dir / "step.json"
    record = read_json(record_path) if record_path.is_file() else {}
    if record.get("hash") == digest and record.get("status") == "done" and not force:
        print(f"[{name}] reused: finished earlier with the same inputs ({record['seconds']:.1f} s then)")
        return {**record, "reused": True}
    if record.get("hash") != digest and step_dir.exists():
        shutil.rmtree(step_dir)  # inputs changed: earlier partial results are stale
    step_dir.mkdir(parents=True, exist_ok=True)
    resumed = record.get("hash") == digest and record.get("status") == "running"
    print(f"[{name}] {'resuming' if resumed else 'running'} {uses} ...")
    atomic_write_json(record_path, {"hash": digest, "status": "running"})
    start = time.time()
    outputs = run_step(uses, args, step_dir)
    record = {"hash": digest, "status": "done", "seconds": time.time() - start, "outputs": outputs}
    atomic_write_json(record_path, record)
    print(f"[{name}] done in {record['seconds']:.1f} s")
    return {**record, "reused": False}


def run_step(uses: str, args: dict, step_dir: Path) -> dict[str, Any]:
    """Call the step's job with its checked arguments plus the ones it owns; return the named outputs."""
    job = STEPS[uses]
    owned = {name: value(step_dir) for name, value in job.owns.items()}
    result = target(job.target)(**args, **owned)
    if job.show:
        target(job.show)(result, **args, **owned)
    return job.outputs(result, step_dir, args)
