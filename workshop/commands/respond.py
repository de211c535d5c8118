"""`workshop respond`: add a model's response to every entry of a test set (batched, resumable)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("respond", help="add a model's response to every entry of a JSON test set", description=__doc__)
    p.add_argument("--model", required=True, help="checkpoint directory (or repo id under checkpoints/)")
    p.add_argument("--data", required=True, help="test set: JSON list or JSONL of {instruction, input, output}")
    p.add_argument("--key", default="model_response", help="key the response is stored under (e.g. response_after)")
    p.add_argument("--out", default=None, help="output JSON (default: update --data in place, atomically)")
    p.add_argument("--batch-size", type=int, default=8, help="entries decoded together (default 8)")
    p.add_argument("--max-new-tokens", type=int, default=256, help="most tokens per response (default 256)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--seed", type=int, default=None, help="random seed when sampling")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workshop.checkpoints import resolve_checkpoint
    from workshop.respond import respond_file

    out = respond_file(
        resolve_checkpoint(args.model, build=True),
        args.data,
        args.key,
        out=args.out,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        seed=args.seed,
        device=args.device,
    )
    print(f"wrote {out} (key {args.key!r})")
    return 0
