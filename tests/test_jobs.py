"""Each setting is declared once: the CLI flag, the Python default and the pipeline step default are one value."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from workshop.run.jobs import VERBS, build_parser, normalize_argv, parse_values, target
from workshop.run.steps import STEPS


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
    cli = build_parser(func, name).parse_args(normalize_argv([], func, verb), _skip_validation=True)  # no flags given
    for key, default in python_defaults(func).items():
        assert as_plain(cli[key]) == default, f"workshop {name} --{key}: CLI default differs from {func.__name__}'s"


@pytest.mark.parametrize("uses", sorted(set(STEPS) - {"finetune_lora"}))  # finetune_lora: LitGPT's own signature
def test_step_default_is_the_python_default(uses):
    step = STEPS[uses]
    func = target(step.job)
    parsed = parse_values(func, {}, f"step {uses}", skip=set(step.owns), check_required=False)
    for key, default in python_defaults(func).items():
        if key not in step.owns:
            assert as_plain(parsed[key]) == default, f"step {uses} with.{key}: default differs from {func.__name__}'s"


@pytest.mark.parametrize("uses", sorted(set(STEPS) - {"finetune_lora"}))
def test_every_step_is_a_verb(uses):
    assert STEPS[uses].job in {v.target for v in VERBS.values()}, f"step {uses} runs a job no CLI verb offers"


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
    func = target(verb.target)
    parsed = build_parser(func, "gpt pretrain").parse_args(normalize_argv(words, func, verb), _skip_validation=True)
    assert (parsed.progress, parsed.restart) == (progress, restart)
