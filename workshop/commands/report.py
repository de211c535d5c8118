"""`workshop report DIR`: re-render report.md, report.html and results.json of a finished run."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="re-render the report of a finished pipeline run", description=__doc__)
    p.add_argument("run_dir", help="the run folder (holds pipeline.json), e.g. out/quickstart")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workshop.report import write_report

    paths = write_report(args.run_dir)
    print("\n".join(f"wrote {p}" for p in paths.values()))
    return 0
