"""`workshop gpt pretrain|generate|download`: GPT-2 from scratch (workshop sections 2-5).

A thin layer over `workshop.gpt`; torch and friends are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import dataclasses

DEFAULT_OUT = "out/gpt-pretrain"
DEFAULT_MODELS_DIR = "checkpoints/gpt2"
SIZES = ("124M", "355M", "774M", "1558M")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workshop gpt` and its three sub-verbs."""
    gpt = sub.add_parser("gpt", help="GPT-2 from scratch: pretrain, generate, download OpenAI's weights")
    verbs = gpt.add_subparsers(dest="gpt_command", metavar="VERB", required=True)

    p = verbs.add_parser("pretrain", help="pretrain a GPT on a text; re-running the same command resumes")
    p.add_argument("--text", help="text file or http(s) URL (default: the preset's text, else data/pretrain/)")
    p.add_argument("--sha256", help="expected sha256 of --text (checked after download)")
    p.add_argument("--config", default="tiny", help="preset in recipes/gpt/ (tiny, the-verdict) or a YAML path")
    p.add_argument("--epochs", type=int, help="number of epochs (overrides the preset)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (smoke runs)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default: {DEFAULT_OUT})")
    p.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    p.add_argument("--restart", action="store_true", help="start over instead of resuming a run found in --out")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_pretrain)

    g = verbs.add_parser("generate", help="continue a prompt with a pretrained checkpoint or OpenAI's GPT-2")
    source = g.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a `workshop gpt pretrain` output dir or its checkpoint.pth")
    source.add_argument("--openai", choices=SIZES, help="OpenAI's GPT-2 of this size (downloaded once; needs [tf])")
    g.add_argument("--prompt", required=True, help="text to continue")
    g.add_argument("--max-new-tokens", type=int, default=50, help="tokens to generate (default: 50)")
    g.add_argument("--temperature", type=float, default=0.0, help="0 = greedy; higher = more random (default: 0)")
    g.add_argument("--top-k", type=int, help="sample only among the k most likely tokens")
    g.add_argument("--seed", type=int, default=123, help="random seed for sampling (default: 123)")
    g.add_argument("--models-dir", default=DEFAULT_MODELS_DIR, help=f"where --openai weights live (default: {DEFAULT_MODELS_DIR})")
    g.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    g.set_defaults(func=_generate)

    d = verbs.add_parser("download", help="download OpenAI's GPT-2 checkpoint files (resumable)")
    d.add_argument("--size", choices=SIZES, default="124M", help="model size (default: 124M)")
    d.add_argument("--dir", default=DEFAULT_MODELS_DIR, help=f"models directory (default: {DEFAULT_MODELS_DIR})")
    d.set_defaults(func=_download)


def _device(name: str | None):
    import torch

    from workshop.device import default_device

    return torch.device(name) if name else default_device()


def _pretrain(args: argparse.Namespace) -> int:
    from workshop.errors import WorkshopError
    from workshop.gpt.config import load_pretrain_config
    from workshop.gpt.pretrain import pretrain

    if args.max_steps is not None and args.max_steps < 1:
        raise WorkshopError(f"--max-steps {args.max_steps}: must be at least 1")
    config = load_pretrain_config(args.config)
    if args.text is not None:
        config.data = dataclasses.replace(config.data, text=args.text, sha256=args.sha256)
    elif args.sha256 is not None:
        config.data = dataclasses.replace(config.data, sha256=args.sha256)
    if args.epochs is not None:
        if args.epochs < 1:
            raise WorkshopError(f"--epochs {args.epochs}: must be at least 1")
        config.train = dataclasses.replace(config.train, num_epochs=args.epochs)
    result = pretrain(
        config, args.out, resume=not args.restart, device=_device(args.device), max_steps=args.max_steps,
        progress=not args.no_progress,
    )
    if result.val_losses:
        print(
            f"val loss {result.val_losses[-1]:.3f} (perplexity {result.val_perplexity:.1f}) after "
            f"{result.tokens_seen[-1]:,} tokens; wrote checkpoint.pth, metrics.jsonl, samples.jsonl, losses.png in {result.out_dir}"
        )
    return 0


def _generate(args: argparse.Namespace) -> int:
    import torch

    from workshop.errors import WorkshopError
    from workshop.gpt.generate import generate, text_to_token_ids, token_ids_to_text
    from workshop.gpt.tokenizer import GPT2_EOT_ID, gpt2_tokenizer

    if not args.prompt.strip():
        raise WorkshopError("--prompt is empty; give some text to continue")
    if args.max_new_tokens < 1 or (args.top_k is not None and args.top_k < 1) or args.temperature < 0:
        raise WorkshopError("--max-new-tokens and --top-k must be at least 1 and --temperature at least 0")
    device = _device(args.device)
    if args.checkpoint:
        from workshop.gpt.checkpoint import load_model

        model = load_model(args.checkpoint, device)
    else:
        from workshop.gpt.openai_weights import load_openai_gpt2

        model = load_openai_gpt2(args.openai, args.models_dir, device)
    tokenizer = gpt2_tokenizer()
    torch.manual_seed(args.seed)
    token_ids = generate(
        model, text_to_token_ids(args.prompt, tokenizer).to(device), max_new_tokens=args.max_new_tokens,
        context_size=model.pos_emb.num_embeddings, temperature=args.temperature, top_k=args.top_k, eos_id=GPT2_EOT_ID,
    )
    print(token_ids_to_text(token_ids.cpu(), tokenizer))
    return 0


def _download(args: argparse.Namespace) -> int:
    from workshop.gpt.openai_weights import download_gpt2_files

    model_dir = download_gpt2_files(args.size, args.dir)
    print(f"GPT-2 {args.size} checkpoint files are in {model_dir}")
    return 0
