"""`workshop data`: split instruction files, fetch the workshop's set, regenerate the project's own."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="instruction data: split a file, regenerate data/instructions", description=__doc__)
    verbs = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = verbs.add_parser("split", help="split a JSON/JSONL instruction file into train/test(/val) JSON files")
    s.add_argument("file", help="Alpaca-style .json list or .jsonl (instruction, input, output)")
    s.add_argument("--out-dir", required=True, help="folder for train.json, test.json (and val.json)")
    s.add_argument("--train", type=float, default=0.85, help="fraction for training (default 0.85)")
    s.add_argument("--test", type=float, default=0.15, help="fraction for testing (default 0.15)")
    s.add_argument("--val", type=float, default=0.0, help="fraction for validation (default 0: no val.json)")
    s.add_argument("--seed", type=int, default=None,
                   help="shuffle with this seed first (default: keep file order, as the workshop does)")
    s.set_defaults(func=run_split)

    d = verbs.add_parser("download", help="fetch the workshop's 1,100-entry instruction-data.json (online)")
    d.add_argument("--out", default="instruction-data.json", help="where to save it (default ./instruction-data.json)")
    d.set_defaults(func=run_download)

    g = verbs.add_parser("generate", help="regenerate the project's template-made instruction set")
    g.add_argument("--out", default=None, help="output .json/.jsonl (default data/instructions/instruction-data.json)")
    g.add_argument("-n", type=int, default=None, help="number of entries (default 300)")
    g.add_argument("--seed", type=int, default=None, help="generator seed (default 123, the shipped file)")
    g.set_defaults(func=run_generate)


def run_split(args: argparse.Namespace) -> int:
    from workshop.instructions import load_instructions, split, write_splits

    parts = split(load_instructions(args.file), train=args.train, test=args.test, val=args.val, seed=args.seed)
    for name, path in write_splits(parts, args.out_dir).items():
        print(f"{name}: {len(parts[name])} entries -> {path}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from workshop.instructions import download_workshop_data, load_instructions

    path = download_workshop_data(args.out)
    print(f"wrote {len(load_instructions(path))} entries -> {path}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from workshop import datagen

    path = datagen.write_default(args.out or datagen.DEFAULT_PATH, args.n or datagen.DEFAULT_N,
                                 datagen.DEFAULT_SEED if args.seed is None else args.seed)
    print(f"wrote {args.n or datagen.DEFAULT_N} entries -> {path}")
    return 0
