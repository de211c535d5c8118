"""Compare the workshop's judge prompt with the hardened one on a data file (audited runs, one per prompt).

Run: python evals/judge/compare_prompts.py DATA --key KEY [--key KEY2] --judge JUDGE --out DIR
(the figures in evals/judge/README.md, "Which prompt", come from this script).
"""

import argparse
from pathlib import Path

from workshop.judge.prompt_compare import compare_prompts, comparison_markdown

HARDENED = str(Path(__file__).with_name("hardened.txt"))

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--key", action="append", required=True)
    parser.add_argument("--judge", default="smollm2-135m-instruct")
    parser.add_argument("--mode", default="logits")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--audit-items", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    rows = compare_prompts(args.data, args.key, args.judge, [None, HARDENED], args.out, mode=args.mode,
                           batch_size=args.batch_size, audit_items=args.audit_items)
    print(comparison_markdown(rows, f"{args.data} ({', '.join(args.key)}), judge {args.judge}, mode {args.mode}"))
