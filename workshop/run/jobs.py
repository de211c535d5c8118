"""Every verb is one typed Python function; its CLI flags, `--config` YAML keys and pipeline
`with:` keys are all read from that signature by jsonargparse (LitGPT's pattern).

`VERBS` names each verb's job function ("module:function"). A default, a type such as
`PositiveInt` and each flag's help (the docstring's `Args:`) are written once, in the
function; `parse_args` (CLI), `parse_values` (pipeline steps, YAML) and a plain Python call
all meet the same signature. jsonargparse's errors become one line naming the flag or key,
with the fix and the closest valid name.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from workshop.core.errors import WorkshopError, closest


@dataclass(frozen=True)
class Verb:
    """A CLI verb: its job function and how people spell its arguments."""

    target: str  # "module:function": the job's one typed signature
    positional: tuple[str, ...] = ()  # parameters that may also be given as leading bare words
    aliases: dict[str, str] = field(default_factory=dict)  # extra flag spellings -> parameter
    show: str | None = None  # "module:function" printing the result for people (default: print it)
    presets: str | None = None  # folder under recipes/ whose YAML names `--config NAME` may use


# `--served-model llama3` for `--remote.served_model llama3` (workshop.models.remote.RemoteOptions)
REMOTE_FLAGS = {name: f"remote.{name}" for name in
                ("served_model", "api_key_env", "concurrency", "request_timeout", "retries", "top_logprobs")}

VERBS: dict[str, Verb] = {
    "quickstart": Verb("workshop.cli.quickstart:quickstart", aliases={"set": "overrides"}),
    "gpt pretrain": Verb("workshop.cli.gpt:gpt_pretrain", presets="gpt",
                         aliases={"text": "data.text", "sha256": "data.sha256", "epochs": "train.num_epochs"}),
    "gpt generate": Verb("workshop.cli.gpt:gpt_generate"),
    "gpt download": Verb("workshop.cli.gpt:gpt_download"),
    "download": Verb("workshop.models.checkpoints:download", positional=("repo_id",)),
    "generate": Verb("workshop.cli.generate:generate_reply"),
    "respond": Verb("workshop.respond:respond_file", show="workshop.cli.respond:show", aliases=REMOTE_FLAGS),
    "data split": Verb("workshop.datasets.instructions:split_file", positional=("data",), show="workshop.cli.data:show_split"),
    "data download": Verb("workshop.datasets.instructions:download_workshop_data", show="workshop.cli.data:show_written"),
    "data generate": Verb("workshop.datasets.generated:write_default", show="workshop.cli.data:show_written"),
    "data grammar": Verb("workshop.datasets.grammar:write_grammar", show="workshop.cli.data:show_labelled"),
    "data cola": Verb("workshop.datasets.cola:download_cola", show="workshop.cli.data:show_labelled"),
    "data classify-to-instructions": Verb("workshop.datasets.labels:classify_to_instructions", positional=("data",),
                                          show="workshop.cli.data:show_written"),
    "data mmlu": Verb("workshop.evals.mmlu_data:write_layout", show="workshop.cli.data:show_mmlu"),
    "recipes": Verb("workshop.cli.recipes:list_recipes", positional=("pattern",),
                    show="workshop.cli.recipes:show"),
    "run": Verb("workshop.cli.run:run", positional=("recipe",), aliases={"set": "overrides"}),
    "judge": Verb("workshop.judge.scoring:score_file", aliases={"key": "keys", **REMOTE_FLAGS},
                  show="workshop.cli.judge:show"),
    "judge agreement": Verb("workshop.judge.agreement:agreement_file", show="workshop.cli.judge:show_agreement"),
    "eval mmlu": Verb("workshop.cli.eval:mmlu", aliases={"model": "models", "compare": "models"},
                      show="workshop.cli.eval:show_mmlu"),
    "eval list": Verb("workshop.cli.eval:list_tasks", positional=("pattern",)),
    "eval classify": Verb("workshop.evals.classify:classify", show="workshop.cli.eval:show_classify"),
    "eval perplexity": Verb("workshop.evals.perplexity:perplexity", show="workshop.cli.eval:show_perplexity"),
    "report": Verb("workshop.report:write_report", positional=("run_dir",), show="workshop.cli.report:show"),
    "compare": Verb("workshop.report.compare:compare", positional=("runs",), aliases={"run": "runs"}, show="workshop.cli.compare:show"),
    "serve": Verb("workshop.cli.serve:serve"),
}


def target(spec: str) -> Callable:
    """The function behind "module:function"."""
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def summary_line(spec: str) -> str:
    """The first docstring line of a job, read from its source without importing it (fast --help)."""
    module, name = spec.split(":")
    origin = importlib.util.find_spec(module).origin
    tree = ast.parse(open(origin, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return (ast.get_docstring(node) or "").strip().splitlines()[0]
    raise LookupError(spec)


def build_parser(func: Callable, prog: str, skip: set[str] | frozenset[str] = frozenset()) -> Any:
    """A jsonargparse parser for `func`'s parameters (minus `skip`) plus `--config FILE`."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    import workshop.core.types  # noqa: F401  (registers ExistingFile / ExistingDir)

    doc = inspect.getdoc(func) or ""
    parser = ArgumentParser(prog=prog, description=doc.split("\n\nArgs:")[0], exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file of these keys (the flags' names)")
    parser.add_function_arguments(func, as_group=False, skip=set(skip), fail_untyped=True)
    return parser


def list_params(func: Callable) -> set[str]:
    """Parameters typed as lists: a repeated `--key a --key b` appends."""
    hints = typing.get_type_hints(func)

    def is_list(tp: Any) -> bool:
        return typing.get_origin(tp) in (list, Sequence) or any(is_list(a) for a in typing.get_args(tp))

    return {name for name, tp in hints.items() if name != "return" and is_list(tp)}


def normalize_argv(argv: Sequence[str], func: Callable, verb: Verb) -> list[str]:
    """People's spellings -> jsonargparse's: `--batch-size` -> `--batch_size`, aliases, leading
    positional words, preset names after `--config`, bare boolean flags (`--dry-run`,
    `--no-progress`), and list flags (`--key a --key b`, `--compare A B`) -> one JSON list."""
    hints = typing.get_type_hints(func)
    lists, bools = list_params(func), {n for n, tp in hints.items() if tp is bool}
    words, out = list(argv), []
    positional = list(verb.positional)
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
            out.append(preset(word, verb.presets))
        elif not word.startswith("--") or word in ("--help", "--print_config"):
            collected[current].append(word) if current else out.append(word)
            continue
        else:
            flag, eq, value = word[2:].partition("=")
            head, dot, rest = flag.partition(".")
            head = verb.aliases.get(head.replace("-", "_"), head.replace("-", "_"))
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


def plain(value: Any) -> Any:
    """Values with jsonargparse's restricted types (PositiveInt is an int subclass) as plain Python
    numbers and paths, inside lists, dicts and dataclasses too, so they pickle and compare as usual."""
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


def preset(name: str, folder: str | None) -> str:
    """`--config NAME`: a file as given, else the preset recipes/<folder>/NAME.yaml."""
    from pathlib import Path

    from workshop.core.paths import RECIPES_DIR

    if folder is None or Path(name).exists() or not (RECIPES_DIR / folder / f"{name}.yaml").is_file():
        return name
    return str(RECIPES_DIR / folder / f"{name}.yaml")


def literal_choices(func: Callable, key: str) -> tuple[Any, ...]:
    """The allowed values of a `Literal[...]` (or Optional Literal) parameter, else (); `a.b` looks into dataclasses."""
    head, *rest = key.split(".")
    tp = typing.get_type_hints(func).get(head)
    for part in rest:
        tp = typing.get_type_hints(tp).get(part) if dataclasses.is_dataclass(tp) else None
    args = (tp,) + typing.get_args(tp)
    return next((typing.get_args(a) for a in args if typing.get_origin(a) is typing.Literal), ())


def _flag(key: str) -> str:
    """A parameter as people type its flag: `max_new_tokens` -> `--max-new-tokens` (nested keys keep theirs)."""
    head, dot, rest = key.partition(".")
    return f"--{head.replace('_', '-')}{dot}{rest}"


def one_line(error: Exception, func: Callable, flags: bool = True, parser: Any = None) -> str:
    """jsonargparse's message as one line naming the flag (or key), the fix and the closest name."""
    text = " ".join(str(error).split())
    params = [p for p in inspect.signature(func).parameters]
    if parser is not None:  # nested keys too (train.max_steps)
        params += [k for k in parser.get_defaults().keys() if "." in k and not k.startswith("config")]
    spell = _flag if flags else (lambda k: k)
    m = re.match(r'Parser key "([\w.]+)": (.*)', text)
    if m:
        key, detail = m.groups()
        choices = literal_choices(func, key)
        if choices:  # jsonargparse's message for a Literal is unhelpful ("Cannot take a Union of no types")
            return f"{spell(key)}: use one of {', '.join(map(str, choices))}"
        return f"{spell(key)}: {value_problem(detail)}"
    m = re.match(r"Unrecognized arguments: (--)?([\w.+-]+)", text)
    if m and not m.group(1):
        return (f"unexpected word {m.group(2)!r}; flags take values as --name VALUE "
                "(true/false flags: --name alone, or --no-name)")
    if m:
        key = m.group(2).rstrip("+").replace("-", "_")
        match = closest(key, params)
        hint = f"did you mean {spell(match)}?" if match else f"valid: {', '.join(spell(p) for p in params)}"
        return f"{spell(key)}: unknown {'flag' if flags else 'key'}; {hint}"
    m = re.search(r"Group '([\w.]+)' does not accept nested key '([\w.]+)'", text)
    if m:
        key = f"{m.group(1)}.{m.group(2)}"
        match = closest(key, params)
        return f"{spell(key)}: unknown {'flag' if flags else 'key'}" + (f"; did you mean {spell(match)}?" if match else "")
    m = re.search(r"Key '([\w.]+)' is not expected|Unexpected key[s]? '?([\w.]+)'?", text)
    if m:
        key = next(g for g in m.groups() if g)
        match = closest(key, params)
        return f"{spell(key)}: unknown {'flag' if flags else 'key'}" + (f"; did you mean {spell(match)}?" if match else "")
    m = re.search(r'Key "([\w.]+)" is required', text)
    if m:
        return f"{spell(m.group(1))}: missing; it is required"
    return text


KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text", "list": "a list",
         "dict": "a mapping of keys"}


def value_problem(detail: str) -> str:
    """jsonargparse's complaint about one value, as "VALUE is out of range; FIX" or "expected KIND, got VALUE"."""
    from workshop.core.types import FIXES

    fix = next((f for t, f in FIXES.items() if re.search(rf"\b{t}\b", detail)), None)
    tail = " (or leave it out)" if "<class 'NoneType'>" in detail else ""
    given = re.search(r"Given value: (.*?)$", detail)
    m = re.search(r"(\S+) does not conform to restriction", detail)
    if m or (given and "does not conform" in detail):
        return f"{given.group(1) if given else m.group(1)} is out of range; {fix}{tail}"
    m = re.search(r"(?:could not convert string to float|invalid literal for int\(\) with base 10): '(.*?)'", detail)
    if m:
        return f"{m.group(1)!r} is not a number; {fix}{tail}"
    m = re.search(r"Not of type (\w+): (.*?)(?: Given value type:|$)", detail)
    if m:
        reason = m.group(2).strip().replace(" not an integer", " is not a whole number")
        if given and given.group(1) not in reason:  # jsonargparse drops the value from the message
            reason = f"{given.group(1)} {reason}" if reason.startswith("is ") else f"{given.group(1)}: {reason}"
        return reason + (f"; {FIXES[m.group(1)]}" if m.group(1) in FIXES and FIXES[m.group(1)] not in reason else "")
    m = re.search(r"Expected a <class '(\w+)'>\. Got value: (.*)$", detail)
    if m:
        return f"expected {KINDS.get(m.group(1), m.group(1))}, got {m.group(2)!r}"
    return detail + (f"; {fix}" if fix else "")


def parse_values(func: Callable, values: dict[str, Any], where: str, skip: set[str] = frozenset(),
                 check_required: bool = True) -> dict[str, Any]:
    """Keyword arguments for `func` from a YAML mapping, checked and completed with its defaults."""
    parser = build_parser(func, where, skip)
    try:
        cfg = parser.parse_object(values, _skip_validation=not check_required)
        if not check_required:
            parser.validate(cfg, skip_required=True)
        cfg = parser.instantiate_classes(cfg)
    except WorkshopError:
        raise
    except Exception as e:  # jsonargparse raises ArgumentError / ValueError / TypeError for bad values
        raise WorkshopError(f"{where}: {one_line(e, func, flags=False, parser=parser)}") from None
    return _kwargs(cfg, func, skip)


def _kwargs(cfg: Any, func: Callable, skip: set[str]) -> dict[str, Any]:
    params = inspect.signature(func).parameters
    return {name: plain(cfg[name]) for name in params if name not in skip and name in cfg}


def parse_args(name: str, argv: Sequence[str]) -> tuple[Callable, dict[str, Any]]:
    """The job function of verb `name` and its keyword arguments from `argv` (exits on --help)."""
    verb = VERBS[name]
    func = target(verb.target)
    parser = build_parser(func, f"workshop {name}")
    try:
        cfg = parser.parse_args(normalize_argv(argv, func, verb))
        cfg = parser.instantiate_classes(cfg)
    except WorkshopError:
        raise
    except Exception as e:
        raise WorkshopError(f"workshop {name}: {one_line(e, func, parser=parser)}") from None
    return func, _kwargs(cfg, func, set())


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
