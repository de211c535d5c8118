"""Job arguments: the jsonargparse parser of a job's signature, and YAML mappings parsed by it.

Values are checked against the signature's types first (`workshop.core.checks.problems`: all
problems together, each naming its key, what was expected and the closest valid name), so
jsonargparse's own error wording is never read back. `parse_values` (pipeline steps) and
`workshop.cli.args.parse_args` (the command line) both go through it.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Any, Callable, Iterable

from workshop.core.checks import problems
from workshop.core.errors import WorkshopError
from workshop.core.types import register_types



def build_parser(func: Callable, prog: str, skip: Iterable[str] = ()) -> Any:
    """A jsonargparse parser for `func`'s parameters (minus `skip`) plus `--config FILE`."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    register_types()
    doc = inspect.getdoc(func) or ""
    parser = ArgumentParser(prog=prog, description=doc.split("\n\nArgs:")[0], exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file of these keys (the flags' names)")
    parser.add_function_arguments(func, as_group=False, skip=set(skip), fail_untyped=True)
    return parser


def plain(value: Any) -> Any:
    """Values with the constrained types (PositiveInt is an int subclass) as plain Python numbers and paths,
    inside lists, dicts and dataclasses too, so they pickle, print and compare as usual."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Path):
        return Path(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                                             if f.init})
    return value


def required(func: Callable, skip: Iterable[str] = ()) -> list[str]:
    """The parameters without a default, in signature order."""
    return [n for n, p in inspect.signature(func).parameters.items() if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and n not in set(skip)]


def parse_values(func: Callable, values: dict[str, Any], where: str, skip: Iterable[str] = (),
                 check_required: bool = True) -> dict[str, Any]:
    """Keyword arguments for `func` from a YAML mapping, checked and completed with its defaults.

    All problems are reported together in one line: `where: key: problem; other: problem`.
    """
    skip = set(skip)
    hints = {k: v for k, v in typing.get_type_hints(func).items() if k != "return"}
    found = problems(hints, values, known=set(inspect.signature(func).parameters) - skip)
    if check_required:
        found += [f"{name}: missing; it is required" for name in required(func, skip) if values.get(name) is None]
    if found:
        raise WorkshopError(f"{where}: {'; '.join(found)}")
    parser = build_parser(func, where, skip)
    try:
        cfg = parser.parse_object(values, _skip_validation=not check_required)
        if not check_required:
            parser.validate(cfg, skip_required=True)
        cfg = parser.instantiate_classes(cfg)
    except WorkshopError:
        raise
    except Exception as e:  # what the checks above do not cover: jsonargparse's own words, on one line
        raise WorkshopError(f"{where}: {' '.join(str(e).split())}") from None
    return kwargs_of(cfg, func, skip)


def kwargs_of(cfg: Any, func: Callable, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The parsed namespace as `func`'s keyword arguments (plain values)."""
    skip = set(skip)
    return {name: plain(cfg[name]) for name in inspect.signature(func).parameters if name not in skip and name in cfg}
