"""Each setting is declared once: the CLI flag, the Python default and the pipeline step default are one value."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from workshop.cli.args import normalize_argv
from workshop.run.args import build_parser, parse_values
from workshop.run.jobs import JOBS, STEPS, VERBS, source_params, target


def python_defaults(func) -> dict:
    """The function's own defaults (dataclass defaults as dicts, so they compare with parsed ones)."""
    out = {}
    for name, p in inspect.signature(func).parameters.items():
        if p.default is not inspect.Parameter.empty:
            out[name] = dataclasses.asdict(p.default) if dataclasses.is_dataclass(p.default) else p.default
    return out


def as_plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "as_dict"):  # a jsonargparse Namespace (nested dataclass defaults)
        return value.as_dict()
    return value


@pytest.mark.parametrize("name", sorted(VERBS))
def test_cli_default_is_the_python_default(name):
    verb = VERBS[name]
    func = target(verb.target)
    hints = {n: p.hint for n, p in source_params(verb.target).items()}
    cli = build_parser(func, name).parse_args(normalize_argv([], verb, hints), _skip_validation=True)  # no flags given
    for key, default in python_defaults(func).items():
        assert as_plain(cli[key]) == default, f"workshop {name} --{key}: CLI default differs from {func.__name__}'s"


@pytest.mark.parametrize("uses", sorted(u for u, job in STEPS.items() if not job.parse))  # finetune_lora: LitGPT's
def test_step_default_is_the_python_default(uses):
    step = STEPS[uses]
    func = target(step.target)
    parsed = parse_values(func, {}, f"step {uses}", skip=set(step.owns), check_required=False)
    for key, default in python_defaults(func).items():
        if key not in step.owns:
            assert as_plain(parsed[key]) == default, f"step {uses} with.{key}: default differs from {func.__name__}'s"


def test_each_job_is_listed_once_and_none_lives_in_the_cli():
    targets = [job.target for job in JOBS]
    assert len(targets) == len(set(targets)), "a job function listed twice"
    for job in JOBS:
        for spec in filter(None, (job.target, job.show, job.parse)):
            assert not spec.startswith("workshop.cli"), f"{spec}: the job table points into the CLI"
            assert callable(target(spec)), spec


def test_the_source_signature_is_the_imported_one():
    """The fast pre-import check reads the same parameters, in the same order, as the imported function."""
    for job in JOBS:
        params = {n: p for n, p in inspect.signature(target(job.target)).parameters.items() if p.kind != p.VAR_KEYWORD}
        from_source = source_params(job.target)
        assert list(from_source) == list(params), job.target
        assert {n for n, p in from_source.items() if p.required} == {
            n for n, p in params.items() if p.default is inspect.Parameter.empty}, job.target


@pytest.mark.parametrize("name", sorted(VERBS))
def test_every_flag_has_help(name):
    func = target(VERBS[name].target)
    doc = inspect.getdoc(func) or ""
    assert "\nArgs:\n" in doc, f"{func.__name__} has no Args: section"
    documented = {line.strip().split(":")[0] for line in doc.split("\nArgs:\n")[1].splitlines() if ":" in line}
    assert set(inspect.signature(func).parameters) <= documented, f"workshop {name}: flags without help"


@pytest.mark.parametrize("words, progress, restart", [
    (["--progress", "false"], False, False), (["--progress", "False", "--restart"], False, True),
    (["--no-progress"], False, False), (["--restart", "true", "--progress"], True, True),
    (["--progress=false", "--restart=true"], False, True), ([], True, False),
])
def test_boolean_flags_take_true_false_as_a_separate_word_too(words, progress, restart):
    verb = VERBS["gpt pretrain"]
    hints = {n: p.hint for n, p in source_params(verb.target).items()}
    parsed = build_parser(target(verb.target), "gpt pretrain").parse_args(normalize_argv(words, verb, hints),
                                                                         _skip_validation=True)
    assert (parsed.progress, parsed.restart) == (progress, restart)
