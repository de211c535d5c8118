"""Check YAML values against Python type hints, the way LitGPT's CLI (jsonargparse) reads them.

`convert` walks a value and its annotation (Optional/Union, Literal, bool/int/float/str,
Path, dataclasses such as `TrainArgs`, and classes given as `{class_path, init_args}`),
raising a one-line WorkshopError that names the key path and, for an unknown key, the
closest valid one. `build=False` returns plain YAML-able data (for printing and hashing),
`build=True` the objects a LitGPT function expects (Paths, dataclass and class instances).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Literal, Union

from workshop.errors import WorkshopError


class _Mismatch(Exception):
    """The value does not fit this annotation (tried by Union before giving up)."""


def closest(key: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to `key` (ignoring case), or None when none is close."""
    by_lower = {v.lower(): v for v in sorted(valid)}
    close = difflib.get_close_matches(str(key).lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[close[0]] if close else None


def suggest(key: str, valid: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest valid key, or the valid keys when none is close."""
    valid = sorted(valid)
    match = closest(key, valid)
    return f"; did you mean '{match}'?" if match else f"; valid keys: {', '.join(valid)}"


def import_class(class_path: Any, short_modules: tuple[str, ...], where: str) -> type:
    """Import `pkg.mod.Class`, or a bare `Class` from the first of `short_modules` that has it
    (e.g. "JSON" -> litgpt.data.JSON)."""
    if not isinstance(class_path, str) or not class_path:
        raise WorkshopError(f"{where}: class_path must be a dotted class name, got {class_path!r}")
    module_name, _, name = class_path.rpartition(".")
    modules = [module_name] if module_name else list(short_modules)
    for candidate in modules:
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            raise WorkshopError(f"{where}: cannot import module {candidate!r}; check class_path {class_path!r}") from None
        if hasattr(module, name):
            return getattr(module, name)
    names = {n for m in modules for n, v in vars(importlib.import_module(m)).items() if inspect.isclass(v)}
    raise WorkshopError(f"{where}: no class {name!r} in {' or '.join(modules)}{suggest(name, names)}")


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def convert(value: Any, tp: Any, where: str, build: bool = False, default: Any = None) -> Any:
    """Check `value` against annotation `tp`; return plain data, or objects when `build`."""
    try:
        return _convert(value, tp, where, build, default)
    except _Mismatch:
        raise WorkshopError(f"{where}: expected {_describe(tp)}, got {value!r}") from None


def _convert(value: Any, tp: Any, where: str, build: bool, default: Any = None) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any or tp is inspect.Parameter.empty:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        if isinstance(value, dict) and "class_path" in value:  # a class spec: try the class arms first
            args = sorted(args, key=lambda a: not _is_class(a))
        for arg in args:
            try:
                return _convert(value, arg, where, build, default)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise _Mismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int or tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (tp is int and not isinstance(value, int)):
            raise _Mismatch
        return tp(value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if tp is Path or (inspect.isclass(tp) and issubclass(tp, Path)):
        if isinstance(value, (str, Path)):
            return Path(value) if build else str(value)
        raise _Mismatch
    if origin in (dict, list, tuple) or tp in (dict, list, tuple):
        container = origin or tp
        if isinstance(value, (list, tuple) if container is not dict else dict):
            return value
        raise _Mismatch
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(value, tp, where, build, default)
    if _is_class(tp):
        return convert_class_spec(value, tp, where, build)
    return value


def _is_class(tp: Any) -> bool:
    return inspect.isclass(tp) and tp not in (bool, int, float, str, dict, list, tuple) and not issubclass(tp, Path)


def _convert_dataclass(value: Any, tp: type, where: str, build: bool, default: Any) -> Any:
    """A mapping of a dataclass's fields (TrainArgs...), merged over `default` (the signature's instance)."""
    if isinstance(value, tp):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        raise _Mismatch
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    hints = typing.get_type_hints(tp)
    merged = dataclasses.asdict(default) if isinstance(default, tp) else {}
    merged = {k: v for k, v in merged.items() if k in fields}
    for key, item in value.items():
        if key not in fields:
            raise WorkshopError(f"{where}.{key}: unknown key{suggest(key, fields)} ({tp.__name__})")
        merged[key] = convert(item, hints.get(key, Any), f"{where}.{key}", build)
    if not build:
        return merged
    try:
        return tp(**merged)
    except (ValueError, TypeError) as e:
        raise WorkshopError(f"{where}: {e}") from None


def convert_class_spec(value: Any, base: type, where: str, build: bool, required: bool = True) -> Any:
    """`{class_path, init_args}` (or a bare class name) for a subclass of `base`; build -> an instance.

    The init_args are checked against the class's signature and type hints; with
    `required=False` missing required arguments are allowed (the caller supplies them).
    """
    if isinstance(value, base):
        return value
    if isinstance(value, str):
        value = {"class_path": value}
    if not isinstance(value, dict) or "class_path" not in value:
        raise _Mismatch
    for key in value:
        if key not in ("class_path", "init_args"):
            raise WorkshopError(f"{where}.{key}: unknown key{suggest(key, ['class_path', 'init_args'])}")
    shorts = tuple(dict.fromkeys([base.__module__.rpartition(".")[0] or base.__module__, base.__module__]))
    cls = import_class(value["class_path"], shorts, f"{where}.class_path")
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        raise WorkshopError(f"{where}.class_path: {value['class_path']} is not a {base.__name__}")
    init_args = value.get("init_args") or {}
    if not isinstance(init_args, dict):
        raise WorkshopError(f"{where}.init_args: expected a mapping of argument names, got {init_args!r}")
    params = {n: p for n, p in inspect.signature(cls).parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    hints = typing.get_type_hints(cls if dataclasses.is_dataclass(cls) else cls.__init__)
    args = {}
    for key, item in init_args.items():
        if key not in params:
            raise WorkshopError(f"{where}.init_args.{key}: unknown key{suggest(key, params)} ({cls.__name__})")
        args[key] = convert(item, hints.get(key, Any), f"{where}.init_args.{key}", build)
    missing = [n for n, p in params.items() if required and p.default is p.empty and n not in args]
    if missing:
        raise WorkshopError(f"{where}.init_args: missing key '{missing[0]}' (required by {cls.__name__})")
    if build:
        try:
            return cls(**args)
        except (ValueError, TypeError, OSError) as e:
            raise WorkshopError(f"{where}: {cls.__name__}: {e}") from None
    return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": args}
