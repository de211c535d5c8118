"""The `workshop` command: each verb is a job function whose signature jsonargparse reads.

`workshop VERB [flags]` (or `workshop GROUP VERB`, e.g. `workshop eval mmlu`) parses the
flags of the job listed in `workshop.run.jobs.JOBS` and calls it; `--config FILE` takes the same
keys as YAML. The verb list is read from the sources' docstrings, so `workshop --help` does
not import torch. User errors (`WorkshopError`) print one line and exit 2. The process-wide
settings the libraries read are made here, once (`settings`).
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from workshop import __version__
from workshop.core.errors import WorkshopError, closest
from workshop.cli.args import run_verb
from workshop.run.jobs import VERBS, summary_line

INTERRUPTED = "workshop: interrupted; finished work is saved, re-run the same command to resume"


def usage(group: str | None = None) -> str:
    """The verb list (of one group, or of all), one line each from the job's docstring."""
    names = [n for n in VERBS if group is None or n.startswith(f"{group} ")]
    head = f"usage: workshop {group + ' ' if group else ''}VERB [--help] [--config FILE] [flags]\n"
    about = "Building LLMs from the Ground Up: GPT-2 from scratch, LitGPT recipes, judge and evals.\n" if not group else ""
    rows = [f"  {n[len(group) + 1:] if group else n:<18} {summary_line(VERBS[n].target)}" for n in names]
    return f"{head}{about}\nverbs:\n" + "\n".join(rows) + "\n\nEvery verb has --help; flags accept - or _ (--batch-size, --batch_size).\n"


def split_verb(argv: list[str]) -> tuple[str | None, list[str]]:
    """The longest verb name at the start of `argv` (`eval mmlu` before `eval`) and the rest."""
    for width in (2, 1):
        name = " ".join(argv[:width])
        if len(argv) >= width and name in VERBS:
            return name, argv[width:]
    return None, argv


def settings() -> None:
    """Process-wide settings of the command: no TensorFlow behind transformers (seconds of imports and log
    noise for nothing); jsonargparse reads dataclass attribute docstrings into --help, as `litgpt` does."""
    from jsonargparse import set_docstring_parse_options

    os.environ.setdefault("USE_TF", "0")
    set_docstring_parse_options(attribute_docstrings=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    settings()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(f"workshop {__version__}")
        return 0
    name, rest = split_verb(argv)
    if name is None:
        groups = {n.split()[0] for n in VERBS if " " in n}
        if argv and argv[0] in groups and (len(argv) == 1 or argv[1] in ("-h", "--help")):
            print(usage(argv[0]), end="")
            return 0
        if not argv or argv[0] in ("-h", "--help"):
            print(usage(), end="")
            return 0
        words = " ".join(argv[:2]) if argv[0] in groups else argv[0]
        match = closest(words, VERBS)
        print(f"workshop: error: unknown verb {words!r}" + (f"; did you mean `workshop {match}`?" if match else
              "; see `workshop --help`"), file=sys.stderr)
        return 2
    try:
        return run_verb(name, rest)
    except WorkshopError as e:
        print(f"workshop: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # a job that saved its state says exactly what (e.g. a finetune's step)
        print(f"workshop: {e}" if str(e) else INTERRUPTED, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
