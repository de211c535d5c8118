"""Which lm-eval tasks exist: lm-eval's task index, cached, so listing and lookups are fast and offline.

lm-eval's `TaskManager` parses ~11,000 task YAML files on every start (6 s or more on a
small CPU). The index it builds (name -> kind, YAML path, tag members) is plain JSON, so
it is cached per lm-eval version and install path; `workshop eval list` reads the cache
without importing lm-eval, and `task_manager()` hands the same index to a `TaskManager`.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_json

GLOB_CHARS = "*?["


def cache_path() -> Path:
    """The index cache in the workshop's cache folder, per lm-eval version and path."""
    from workshop.core.paths import cache_dir

    spec = importlib.util.find_spec("lm_eval")
    where = hashlib.sha1(str(spec.origin if spec else "").encode()).hexdigest()[:8]
    return cache_dir() / f"lm_eval_tasks-{importlib.metadata.version('lm_eval')}-{where}.json"


def task_index() -> dict[str, dict]:
    """lm-eval's default task index ({name: {"type", "yaml_path", ...}}), built once then cached."""
    path = cache_path()
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            pass  # a damaged cache is rebuilt below
    from lm_eval.tasks import TaskManager

    index = TaskManager().task_index
    try:
        atomic_write_json(path, index, indent=None)
    except OSError:
        pass  # caching is an optimisation; a read-only home still works
    return index


def task_manager() -> Any:
    """An lm-eval `TaskManager` over the cached index (same tasks, no YAML scan)."""
    from lm_eval.tasks import TaskManager

    class CachedTaskManager(TaskManager):
        def initialize_tasks(self, include_path: Any = None, include_defaults: bool = True) -> dict:
            return task_index()

    return CachedTaskManager()


def match(pattern: str | None, names: list[str]) -> list[str]:
    """Names matching a glob (`*philosophy*`) or, without wildcards, starting with `pattern` (any case)."""
    if not pattern:
        return names
    if any(ch in pattern for ch in GLOB_CHARS):
        return fnmatch.filter(names, pattern)
    return [n for n in names if n.lower().startswith(pattern.lower())]


def list_tasks(pattern: str | None = None) -> list[tuple[str, str]]:
    """(name, kind) of the tasks matching `pattern`, sorted by name; kind is task/group/tag/python_task."""
    index = task_index()
    return [(name, index[name]["type"]) for name in match(pattern, sorted(index))]


def served_offline(names: list[str], datasets: tuple[str, ...]) -> set[str]:
    """Which of `names` read only `datasets` (tasks directly; groups and tags through every task they hold).

    The answer depends only on lm-eval's task files, so it is cached beside the index: a
    second listing reads one JSON file and never imports lm-eval.
    """
    path = cache_path().with_name(cache_path().stem + "-offline.json")
    try:
        cached = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        cached = {}
    known: dict[str, bool] = cached.get("served", {}) if cached.get("datasets") == list(datasets) else {}
    missing = [n for n in names if n not in known]
    if missing:
        index, manager = task_index(), task_manager()

        def served(name: Any, seen: frozenset = frozenset()) -> bool:
            if not isinstance(name, str) or name in seen or name not in index:
                return False  # inline configs nested in lists, cycles, unknown names
            if name not in known:
                kind = index[name]["type"]
                try:
                    config = manager._get_config(name) if kind in ("task", "group") else {}
                except Exception:  # a task lm-eval itself cannot load is not served either
                    config = {}
                if kind == "task":
                    known[name] = config.get("dataset_path") in datasets
                else:
                    members = index[name].get("task") if kind == "tag" else config.get("task")
                    members = members if isinstance(members, list) else [members]
                    members = [m.get("task") if isinstance(m, dict) else m for m in members]
                    known[name] = kind in ("group", "tag") and bool(members) and all(
                        served(m, seen | {name}) for m in members)
            return known[name]

        for name in missing:
            served(name)
        try:
            atomic_write_json(path, {"datasets": list(datasets), "served": known}, indent=None)
        except OSError:
            pass  # caching is an optimisation
    return {n for n in names if known.get(n)}


def resolve_names(names: list[str]) -> list[str]:
    """Check task names (globs expand to the matching leaf tasks); an unknown one suggests the closest."""
    index = task_index()
    resolved: list[str] = []
    for name in names:
        if any(ch in name for ch in GLOB_CHARS):
            matched = [n for n in fnmatch.filter(sorted(index), name) if index[n]["type"] == "task"]
            if not matched:
                raise WorkshopError(f"--tasks {name!r} matches no task; list them with `workshop eval list '{name}'`")
            resolved += matched
        elif name in index:
            resolved.append(name)
        else:
            close = difflib.get_close_matches(name, list(index), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise WorkshopError(f"--tasks: unknown task {name!r}; {hint}(list them with `workshop eval list PATTERN`)")
    return list(dict.fromkeys(resolved))
