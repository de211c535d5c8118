"""`workshop generate`: one reply from a LitGPT checkpoint (greedy by default)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate a reply from a LitGPT checkpoint", description=__doc__)
    p.add_argument("--model", required=True, help="checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct")
    p.add_argument("--prompt", required=True, help="the user prompt; the checkpoint's chat template is applied")
    p.add_argument("--max-new-tokens", type=int, default=256, help="most tokens to generate (default 256)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); > 0 samples")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1.0 = off)")
    p.add_argument("--seed", type=int, default=None, help="random seed for sampling")
    p.add_argument("--sys-prompt", default=None, help="system prompt, for chat templates that take one")
    p.add_argument("--raw", action="store_true", help="send the prompt as is, without the chat template")
    p.add_argument("--stream", action="store_true", help="print tokens as they are generated")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available)")
    p.add_argument("--precision", default="auto", help="auto (bf16 on GPU, fp32 on CPU), 32-true, bf16-true, 16-true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from workshop.checkpoints import resolve_checkpoint
    from workshop.llm import load

    model = load(resolve_checkpoint(args.model, build=True), device=args.device, precision=args.precision)
    kwargs = dict(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        chat=not args.raw,
        sys_prompt=args.sys_prompt,
    )
    if args.stream:
        for piece in model.generate(args.prompt, stream=True, **kwargs):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    else:
        print(model.generate(args.prompt, **kwargs))
    return 0
