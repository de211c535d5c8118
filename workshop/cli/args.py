"""The command line of a job: people's spellings in, the job's keyword arguments out.

`normalize_argv` accepts the spellings the README uses (`--batch-size`, aliases such as
`eval mmlu --model`, leading positional words such as `workshop run RECIPE`, bare boolean
flags and `--no-progress`, repeated list flags `--key a --key b`, preset names after
`--config`). Then every missing, unknown or ill-typed flag is reported together, in one
line, from the job's source alone (`workshop.run.jobs.source_params`): a mistyped command
fails in well under a second, before torch or LitGPT is imported. Only then is the job's
module imported and its signature parsed by jsonargparse.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from workshop.core.errors import WorkshopError
from workshop.run.args import build_parser, kwargs_of, problems
from workshop.run.jobs import VERBS, Job, source_params, target


def _is_list(hint: Any) -> bool:
    return typing.get_origin(hint) in (list, typing.get_origin(typing.Sequence)) or \
        any(_is_list(a) for a in typing.get_args(hint))


def preset(name: str, folder: str | None) -> str:
    """`--config NAME`: a file as given, else the preset recipes/<folder>/NAME.yaml."""
    from workshop.core.paths import RECIPES_DIR

    if folder is None or Path(name).exists() or not (RECIPES_DIR / folder / f"{name}.yaml").is_file():
        return name
    return str(RECIPES_DIR / folder / f"{name}.yaml")


def normalize_argv(argv: Sequence[str], job: Job, hints: dict[str, Any]) -> list[str]:
    """People's spellings -> jsonargparse's: `--batch-size` -> `--batch_size`, aliases, leading
    positional words, preset names after `--config`, bare boolean flags (`--dry-run`,
    `--no-progress`), list flags (`--key a --key b`, `--compare A B`) -> one JSON list, and a
    flag's unique prefix (`--out` for `--out-dir`, argparse's rule) -> its full name."""
    lists = {n for n, tp in hints.items() if _is_list(tp)}
    bools = {n for n, tp in hints.items() if tp is bool}
    words, out = list(argv), []
    positional = list(job.positional)
    collected: dict[str, list[str]] = {}  # list parameter -> its values, in order
    while words and positional and not words[0].startswith("-"):
        name = positional.pop(0)
        if name in lists:  # a list positional takes every leading bare word: `compare A B C`
            while words and not words[0].startswith("-"):
                collected.setdefault(name, []).append(words.pop(0))
        else:
            out += [f"--{name}", words.pop(0)]
    current = None  # the list parameter whose values are being read
    bare_bool = None  # a bare boolean flag just read: `--progress false` gives it its value
    for word in words:
        if bare_bool and word.lower() in ("true", "false"):
            out[-1], bare_bool = f"--{bare_bool}={word.lower()}", None
            continue
        bare_bool = None
        if out and out[-1] == "--config":
            out.append(preset(word, job.presets))
        elif not word.startswith("--") or word in ("--help", "--print_config"):
            collected[current].append(word) if current else out.append(word)
            continue
        else:
            flag, eq, value = word[2:].partition("=")
            head, dot, rest = flag.partition(".")
            head = job.aliases.get(head.replace("-", "_"), head.replace("-", "_"))
            longer = [name for name in hints if name.startswith(head)]
            head = longer[0] if head not in hints and len(longer) == 1 else head
            current = None
            if head.startswith("no_") and head[3:] in bools and not eq:
                out.append(f"--{head[3:]}=false")
            elif head in bools and not eq:
                out.append(f"--{head}=true")
                bare_bool = head
            elif head in lists and not dot:
                current = head
                collected.setdefault(head, []).extend([value] if eq else [])
            else:
                out.append(f"--{head}{dot}{rest}" + (f"={value}" if eq else ""))
            continue
        current = None
    for name, values in collected.items():
        out.append(f"--{name}={values[0]}" if len(values) == 1 and values[0].startswith("[") else
                   f"--{name}={json.dumps(values)}")
    return out


def given_values(words: Sequence[str]) -> dict[str, Any]:
    """The keys `words` (normalized) set, nested by their dots, with `--config FILE`'s keys under them."""
    flat: dict[str, Any] = {}
    i = 0
    while i < len(words):
        key, eq, value = words[i][2:].partition("=") if words[i].startswith("--") else ("", "", "")
        if key and not eq and i + 1 < len(words) and not words[i + 1].startswith("--"):
            value, i = words[i + 1], i + 1
        if key:
            flat[key] = value
        i += 1
    config = flat.pop("config", None)
    nested: dict[str, Any] = {}
    if config and Path(config).is_file():
        loaded = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        nested.update(loaded if isinstance(loaded, dict) else {})
    for key, value in flat.items():
        *parents, last = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[last] = value
    return nested


def spelling(job: Job) -> Callable[[str], str]:
    """How `--help` and the README spell a key: `RECIPE` for a positional, the alias shown first
    (`eval mmlu --model`), else `--max-new-tokens`."""
    shown = {param: alias for alias, param in reversed(list(job.aliases.items()))}

    def spell(key: str) -> str:
        if key in shown:  # `--epochs` for train.num_epochs
            return f"--{shown[key].replace('_', '-')}"
        head, dot, rest = key.partition(".")
        if head in job.positional and not dot:
            return head.upper()
        return f"--{shown.get(head, head).replace('_', '-')}{dot}{rest}"

    return spell


def check(name: str, words: Sequence[str], params: dict[str, Any], hints: dict[str, Any]) -> None:
    """Every missing, unknown or ill-typed flag of `workshop NAME`, together in one WorkshopError."""
    job = VERBS[name]
    spell = spelling(job)
    given = given_values(words)
    found = problems(hints, given, spell=spell, known=params)
    missing = [spell(n) for n, p in params.items() if p.required and given.get(n) in (None, "")]
    if missing:
        bare = [m for m in missing if not m.startswith("--")]  # positionals: RECIPE
        usage = f"`workshop {name} {' '.join(bare)}`; " if bare else ""
        found.append(f"missing {', '.join(missing)} (required; {usage}see `workshop {name} --help`)")
    if found:
        raise WorkshopError(f"workshop {name}: {'; '.join(found)}")


def parse_args(name: str, argv: Sequence[str]) -> tuple[Callable, dict[str, Any]]:
    """The job function of verb `name` and its keyword arguments from `argv` (exits on --help)."""
    job = VERBS[name]
    params = source_params(job.target)
    light = {n: p.hint for n, p in params.items()}
    words = normalize_argv(argv, job, light)
    if not {"--help", "-h", "--print_config"} & set(words):
        check(name, words, params, light)
    func = target(job.target)  # the job's module (torch, LitGPT, ...) only now
    parser = build_parser(func, f"workshop {name}")
    try:
        cfg = parser.instantiate_classes(parser.parse_args(words))
    except WorkshopError:
        raise
    except Exception as e:  # a nested key the source check could not type: check it with the full hints
        hints = {k: v for k, v in typing.get_type_hints(func).items() if k != "return"}
        found = problems(hints, given_values(words), spell=spelling(job))
        raise WorkshopError(f"workshop {name}: {'; '.join(found) or ' '.join(str(e).split())}") from None
    return func, kwargs_of(cfg, func)


def run_verb(name: str, argv: Sequence[str]) -> int:
    """Parse `argv` for verb `name`, call its job and show the result."""
    func, kwargs = parse_args(name, argv)
    result = func(**kwargs)
    show = VERBS[name].show
    if show:
        target(show)(result, **kwargs)
    elif result is not None:
        print(result)
    return 0
