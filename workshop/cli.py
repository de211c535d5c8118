"""The `workshop` command: a thin argparse layer over the Python API.

Each verb lives in `workshop/commands/<verb>.py` with a `register(subparsers)` function
that adds its parser and sets `func`; heavy imports happen inside the handlers, so
`workshop --help` is instant. User errors (`WorkshopError`) print one line, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from workshop import __version__
from workshop.errors import WorkshopError

COMMANDS = [
    "quickstart",
    "gpt",
    "download",
    "generate",
    "respond",
    "data",
    "run",
    "judge",
    "eval",
    "report",
]


def build_parser() -> argparse.ArgumentParser:
    """The root parser with one sub-parser per verb."""
    parser = argparse.ArgumentParser(
        prog="workshop",
        description="Building LLMs from the Ground Up: GPT-2 from scratch, LitGPT recipes, judge and evals.",
    )
    parser.add_argument("--version", action="version", version=f"workshop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"workshop.commands.{name.replace('-', '_')}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    os.environ.setdefault("USE_TF", "0")  # transformers would import TensorFlow (seconds, log noise) for nothing
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(func(args) or 0)
    except WorkshopError as e:
        print(f"workshop: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"workshop: error: {e.filename or e}: file not found; check the path", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workshop: interrupted; finished work is saved, re-run the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
