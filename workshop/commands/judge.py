"""`workshop judge`: score responses 0..100 with an LLM judge (see `workshop.judge`)."""

from __future__ import annotations

import argparse

def register(sub: argparse._SubParsersAction) -> None:
    """Add the `judge` sub-command."""
    p = sub.add_parser(
        "judge",
        help="score responses 0..100 with an LLM judge (logits or generate mode), with statistics and plots",
        description="Score each entry's response(s) 0..100 with a judge model; writes scores.jsonl, summary.json, "
        "summary.md, scores.png and paired.png, and resumes an interrupted run from its cache.",
    )
    p.add_argument("--data", required=True, help="JSON list (or JSONL) of entries with instruction/input/output")
    p.add_argument("--key", action="append", required=True, help="response field to judge; repeat for a second key")
    p.add_argument(
        "--judge",
        default=None,
        help="judge checkpoint dir or repo id "
        "(default: meta-llama/Meta-Llama-3-8B-Instruct; offline: smollm2-135m-instruct)",
    )
    p.add_argument(
        "--mode", default="auto", choices=["auto", "logits", "generate"], help="auto = logits for a local model"
    )
    p.add_argument("--batch-size", type=int, default=8, help="items per forward pass / generation batch")
    p.add_argument("--out", default=None, help="output directory (default: <data dir>/<data stem>-judge)")
    p.add_argument("--template", default=None, help="prompt template file with {input} {output} {response}")
    p.add_argument("--limit", type=int, default=None, help="judge only the first N entries")
    p.add_argument("--max-new-tokens", type=int, default=50, help="generate mode: answer length limit")
    p.add_argument("--temperature", type=float, default=0.0, help="generate mode: 0 = greedy")
    p.add_argument("--seed", type=int, default=None, help="generate mode: sampling seed when temperature > 0")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Judge the file, write the outputs and print the summary table."""
    from workshop.judge import DEFAULT_JUDGE, score_file
    from workshop.judge.scoring import default_out_dir
    from workshop.judge.summary import summary_markdown

    out_dir = args.out if args.out is not None else default_out_dir(args.data)
    summary = score_file(
        args.data,
        args.key,
        out_dir=out_dir,
        limit=args.limit,
        judge=args.judge or DEFAULT_JUDGE,
        mode=args.mode,
        batch_size=args.batch_size,
        template=args.template,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        seed=args.seed,
    )
    print(summary_markdown(summary), end="")
    print(f"outputs in {out_dir}")
    return 0
