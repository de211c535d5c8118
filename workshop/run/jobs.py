"""The job table: every job the CLI and the pipelines run, listed once.

A job is one typed Python function; its CLI flags, `--config` YAML keys and pipeline `with:`
keys are all read from that signature by jsonargparse (LitGPT's pattern), so a default, a
range (`PositiveInt`, `workshop.core.types`) and each flag's help (the docstring's `Args:`)
are written once, in the function. A `Job` row adds only what the signature cannot say: its
CLI verb and people's spellings, its printer, and, as a pipeline step, the arguments it
fills from its step folder and the outputs it names for later steps (`${step.output}`).
`workshop.cli` and `workshop.run.pipeline` both read `JOBS`; neither knows any job by name.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


def _result(result: Any, step_dir: Path, args: dict) -> dict[str, Any]:
    return {"result": result}


@dataclass(frozen=True)
class Job:
    """One job: its function, its printer, how people spell it and what it does as a pipeline step."""

    target: str  # "module:function": the job's one typed signature
    verb: str | None = None  # `workshop VERB` (None: pipeline step only)
    step: str | None = None  # the name a pipeline's `uses:` calls it by (None: CLI only)
    show: str | None = None  # "module:function" printing the result for people (default: print it)
    positional: tuple[str, ...] = ()  # parameters that may be given as leading bare words (README: RECIPE)
    aliases: dict[str, str] = field(default_factory=dict)  # flag spelling -> parameter; the first one is shown
    presets: str | None = None  # folder under recipes/ whose YAML names `--config NAME` may use
    owns: dict[str, Callable[[Path], Any]] = field(default_factory=dict)  # step: parameter -> value from step_dir
    outputs: Callable[[Any, Path, dict], dict[str, Any]] = _result  # step: the outputs later steps may use
    parse: str | None = None  # step: "module:function(values, where, final)" when the keys are not `target`'s
    reads_run: bool = False  # step: reads the whole run folder, so it depends on every earlier step


def _mmlu_outputs(results: dict, step_dir: Path, args: dict) -> dict[str, Any]:
    if len(args["models"]) == 1:
        return {"results": {args["models"][0]: str(step_dir / "results.json")}}
    from workshop.evals.mmlu import compare_dir

    return {"results": {m: str(compare_dir(step_dir, i, m) / "results.json") for i, m in enumerate(args["models"])},
            "summary": str(step_dir / "results.json")}  # accuracies and the paired block


# `--served-model llama3` for `--remote.served_model llama3` (workshop.models.remote.RemoteOptions)
REMOTE_FLAGS = {name: f"remote.{name}" for name in
                ("served_model", "api_key_env", "concurrency", "request_timeout", "retries", "top_logprobs")}
SHOW = "workshop.run.show"

JOBS: tuple[Job, ...] = (
    Job("workshop.run.commands:quickstart", "quickstart", aliases={"set": "overrides"}),
    Job("workshop.gpt.jobs:gpt_pretrain", "gpt pretrain", presets="gpt",
        aliases={"text": "data.text", "sha256": "data.sha256", "epochs": "train.num_epochs"}),
    Job("workshop.gpt.jobs:gpt_generate", "gpt generate"),
    Job("workshop.gpt.jobs:gpt_download", "gpt download"),
    Job("workshop.models.checkpoints:download", "download", "download", positional=("repo_id",),
        outputs=lambda r, d, a: {"checkpoint": str(r)}),
    Job("workshop.run.commands:generate_reply", "generate"),
    Job("workshop.respond:respond_file", "respond", "respond", show=f"{SHOW}:show_responses", aliases=REMOTE_FLAGS,
        owns={"out": lambda d: d / "responses.json"}, outputs=lambda r, d, a: {"data": str(r), "key": a["key"]}),
    Job("workshop.datasets.instructions:split_file", "data split", "split", show=f"{SHOW}:show_split",
        positional=("data",), owns={"out_dir": lambda d: d}, outputs=lambda r, d, a: r),
    Job("workshop.datasets.instructions:download_workshop_data", "data download", show=f"{SHOW}:show_written"),
    Job("workshop.datasets.generated:write_default", "data generate", show=f"{SHOW}:show_written"),
    Job("workshop.datasets.grammar:write_grammar", "data grammar", show=f"{SHOW}:show_labelled"),
    Job("workshop.datasets.cola:download_cola", "data cola", show=f"{SHOW}:show_labelled"),
    Job("workshop.datasets.labels:classify_to_instructions", "data classify-to-instructions",
        show=f"{SHOW}:show_written", positional=("data",)),
    Job("workshop.evals.mmlu_data:write_layout", "data mmlu", show=f"{SHOW}:show_mmlu_data"),
    Job("workshop.run.commands:list_recipes", "recipes", show="workshop.run.commands:show_recipes",
        positional=("pattern",)),
    Job("workshop.run.commands:run", "run", positional=("recipe",), aliases={"set": "overrides"}),
    Job("workshop.run.recipes:finetune_step", step="finetune_lora", parse="workshop.run.recipes:parse_finetune_step",
        owns={"step_dir": lambda d: d}, outputs=lambda r, d, a: r),
    Job("workshop.judge.scoring:score_file", "judge", "judge", show=f"{SHOW}:show_judge",
        aliases={"key": "keys", **REMOTE_FLAGS}, owns={"out_dir": lambda d: d},
        outputs=lambda r, d, a: {"summary": str(d / "summary.json"), "out_dir": str(d), "mode": r.get("mode")}),
    Job("workshop.judge.agreement:agreement_file", "judge agreement", show=f"{SHOW}:show_agreement"),
    Job("workshop.evals.jobs:mmlu", "eval mmlu", "mmlu", show="workshop.evals.jobs:show_mmlu",
        aliases={"model": "models", "compare": "models"}, owns={"out": lambda d: d}, outputs=_mmlu_outputs),
    Job("workshop.evals.jobs:list_tasks", "eval list", positional=("pattern",)),
    Job("workshop.evals.classify:classify", "eval classify", "classify", show="workshop.evals.jobs:show_classify",
        aliases={"model": "model_dir"}, owns={"out_dir": lambda d: d},
        outputs=lambda r, d, a: {"results": str(d / "classify.json")}),
    Job("workshop.evals.perplexity:perplexity", "eval perplexity", show="workshop.evals.jobs:show_perplexity",
        aliases={"model": "model_dir"}),
    Job("workshop.report:write_report", "report", "report", show=f"{SHOW}:show_report", positional=("run_dir",),
        owns={"run_dir": lambda d: d.parent}, reads_run=True,
        outputs=lambda r, d, a: {name: str(p) for name, p in r.items()}),
    Job("workshop.report.compare:compare", "compare", show=f"{SHOW}:show_compare", positional=("runs",)),
    Job("workshop.run.serve:serve", "serve"),
)
VERBS: dict[str, Job] = {job.verb: job for job in JOBS if job.verb}
STEPS: dict[str, Job] = {job.step: job for job in JOBS if job.step}


def target(spec: str) -> Callable:
    """The function behind "module:function"."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _definition(spec: str) -> ast.FunctionDef:
    """A job's `def`, read from its source without importing its module (and so torch, LitGPT)."""
    module, name = spec.split(":")
    origin = importlib.util.find_spec(module).origin
    tree = ast.parse(open(origin, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise LookupError(spec)


def summary_line(spec: str) -> str:
    """The first docstring line of a job (fast `--help`: nothing imported)."""
    return (ast.get_docstring(_definition(spec)) or "").strip().splitlines()[0]


@dataclass(frozen=True)
class Param:
    """A job parameter as its source declares it: whether it is required, and its annotation when that
    names only light types (builtins, typing, pathlib, workshop.core.types); else `hint` is None."""

    name: str
    required: bool
    hint: Any


def source_params(spec: str) -> dict[str, Param]:
    """The job's parameters, read without importing it: a command line is checked before any heavy import."""
    import pathlib
    import typing

    import workshop.core.types as types

    light = {**vars(typing), "Path": pathlib.Path, **{n: getattr(types, n) for n in types.__all__}}
    node = _definition(spec).args
    positional = node.posonlyargs + node.args
    defaults = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(node.kwonlyargs, node.kw_defaults))
    params = {}
    for arg, default in pairs:
        try:
            hint = eval(ast.unparse(arg.annotation), light) if arg.annotation else None  # noqa: S307 (our own source)
        except Exception:  # a name from a heavier module (RemoteOptions, ModelConfig): checked after the import
            hint = None
        params[arg.arg] = Param(arg.arg, default is None, hint)
    return params
