"""`workshop eval`: MMLU through lm-eval, label-word classification (MCC), perplexity, task listing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from workshop.errors import WorkshopError

MMLU_EPILOG = """\
examples:
  workshop eval mmlu --model checkpoints/HuggingFaceTB/SmolLM2-135M-Instruct --tasks mmlu_philosophy \\
      --data-dir ../shared/data/mmlu --out out/eval/smollm2
  workshop eval mmlu --compare out/finetune/lora/final checkpoints/HuggingFaceTB/SmolLM2-135M-Instruct \\
      --tasks mmlu_philosophy,mmlu_anatomy --data-dir ../shared/data/mmlu
--data-dir holds the official MMLU layout: test/<subject>_test.csv (question,A,B,C,D,answer; no header),
optional dev/<subject>_dev.csv for --num-fewshot > 0. Without it the questions come from the hub (cais/mmlu).
"""


def number(text: str) -> int | float:
    """--limit: an int (questions per task) or a float < 1 (share of each task)."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


MODEL_HELP = "checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct"
DEVICE_HELP = "cpu, cuda, cuda:1, ... (default: cuda if available)"


def common_options(p: argparse.ArgumentParser, batch_size: int, out_help: str) -> None:
    """--batch-size, --device and --out, shared by the sub-verbs that run a model."""
    p.add_argument("--batch-size", type=int, default=batch_size, help=f"sequences per forward pass (default {batch_size})")
    p.add_argument("--device", default=None, help=DEVICE_HELP)
    p.add_argument("--out", type=Path, default=None, help=out_help)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `eval` with its sub-verbs mmlu, list, classify, perplexity."""
    p = sub.add_parser("eval", help="evaluate checkpoints: MMLU (lm-eval), classification, perplexity", description=__doc__)
    verbs = p.add_subparsers(dest="eval_command", metavar="VERB")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    m = verbs.add_parser(
        "mmlu", help="lm-eval tasks (MMLU) on a LitGPT checkpoint, without a converted copy",
        description="Run lm-eval's own task definitions on a LitGPT checkpoint.",
        epilog=MMLU_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    who = m.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", help=MODEL_HELP)
    who.add_argument("--compare", nargs="+", metavar="CKPT", help="two or more checkpoints (or results.json) side by side")
    m.add_argument("--tasks", default="mmlu", help="comma-separated lm-eval tasks or groups, globs allowed (default: mmlu)")
    m.add_argument("--num-fewshot", type=int, default=0, help="few-shot examples per question (default 0; needs dev/ offline)")
    m.add_argument("--limit", type=number, default=None, help="only the first N questions per task (or a share < 1)")
    m.add_argument("--data-dir", type=Path, default=None, help="official MMLU CSV folder (test/<subject>_test.csv): offline")
    m.add_argument("--backend", choices=("native", "hf"), default="native",
                   help="native: the LitGPT model in memory (default); hf: LitGPT's convert + HFLM path, for comparison")
    m.add_argument("--log-samples", action="store_true", help="also write samples_<task>.jsonl (per-question scores)")
    common_options(m, 4, "folder for results.json and results.md")
    m.set_defaults(func=run_mmlu)

    ls = verbs.add_parser("list", help="list lm-eval tasks (offline)", description="List lm-eval's tasks, groups and tags.")
    ls.add_argument("pattern", nargs="?", default=None, help="glob (mmlu_*) or substring to filter names")
    ls.set_defaults(func=run_list)

    c = verbs.add_parser("classify", help="few-shot label-word classification: accuracy, MCC, confusion matrix",
                         description="Classify sentences with the model's own head: the label word whose first token scores higher.")
    c.add_argument("--model", required=True, help=MODEL_HELP)
    c.add_argument("--data", required=True, type=Path, help=".tsv (CoLA layout as is, or with a header), .csv or .jsonl")
    c.add_argument("--labels", required=True, help="label words, e.g. 'acceptable,unacceptable' (0/1 data: 1 = first) or '1=yes,0=no'")
    c.add_argument("--prompt", default="default", help="template name in evals/classify/ (default, cola, sentiment) or a YAML path")
    c.add_argument("--shots", type=int, default=4, help="labelled examples in the prompt (default 4), taken from --shots-data or --data")
    c.add_argument("--shots-data", type=Path, default=None, help="file to take the examples from (default: --data, not scored)")
    c.add_argument("--text-field", default=None, help="text column/key (default: sentence or text)")
    c.add_argument("--label-field", default="label", help="label column/key (default: label)")
    c.add_argument("--limit", type=int, default=None, help="score only the first N rows")
    c.add_argument("--seed", type=int, default=0, help="seed for picking the examples (default 0)")
    common_options(c, 8, "folder for classify.json and predictions.jsonl")
    c.set_defaults(func=run_classify)

    q = verbs.add_parser("perplexity", help="mean token loss and perplexity on a JSONL of texts",
                         description="Mean next-token loss over the texts' tokens (padding masked) and its exp.")
    q.add_argument("--model", required=True, help=MODEL_HELP)
    q.add_argument("--data", required=True, type=Path, help=".jsonl (or .json list) of records with a text field")
    q.add_argument("--field", default="text", help="record key holding the text (default: text)")
    q.add_argument("--max-length", type=int, default=None, help="window length for long texts (default: model context)")
    common_options(q, 8, "folder for perplexity.json")
    q.set_defaults(func=run_perplexity)


def run_mmlu(args: argparse.Namespace) -> int:
    """Evaluate one checkpoint (print lm-eval's table) or several side by side."""
    from workshop.evals import mmlu

    kwargs = dict(tasks=args.tasks, data_dir=args.data_dir, num_fewshot=args.num_fewshot, limit=args.limit,
                  batch_size=args.batch_size, backend=args.backend, device=args.device, log_samples=args.log_samples)
    if args.compare:
        print(mmlu.compare_markdown(mmlu.compare(args.compare, out_dir=args.out, **kwargs)), end="")
        return 0
    results = mmlu.evaluate(args.model, out_dir=args.out, **kwargs)
    print(mmlu.results_markdown(results))
    info = results["workshop"]
    print(f"{info['questions']} questions in {info['eval_s']:.1f} s ({args.backend} backend, "
          f"{info['converted_bytes']:,} bytes of converted weights written)")
    if args.out:
        print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print `kind  name` for every matching task."""
    from workshop.evals.task_index import list_tasks

    rows = list_tasks(args.pattern)
    if not rows:
        raise WorkshopError(f"no task matches {args.pattern!r}; try a shorter pattern, e.g. `workshop eval list mmlu`")
    try:
        sys.stdout.write("".join(f"{kind:<11} {name}\n" for name, kind in rows))
        sys.stdout.flush()
    except BrokenPipeError:  # `workshop eval list | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def run_classify(args: argparse.Namespace) -> int:
    """Print accuracy, MCC and the confusion matrix."""
    from workshop.evals.classify import classify
    from workshop.evals.metrics import format_matrix

    r = classify(args.model, args.data, args.labels, prompt=args.prompt, shots=args.shots, shots_data=args.shots_data,
                 batch_size=args.batch_size, seed=args.seed, limit=args.limit, text_field=args.text_field,
                 label_field=args.label_field, device=args.device, out_dir=args.out)
    print(f"{r['n']} sentences, {r['shots']} shots, prompt {r['prompt']!r}")
    print(f"accuracy {r['accuracy']:.4f}  MCC {r['mcc']:.4f}\n")
    print(format_matrix(r["confusion_matrix"], r["labels"]))
    return 0


def run_perplexity(args: argparse.Namespace) -> int:
    """Print loss and perplexity as JSON (without the per-text list)."""
    from workshop.evals.perplexity import perplexity

    r = perplexity(args.model, args.data, field=args.field, batch_size=args.batch_size, max_length=args.max_length,
                   device=args.device, out_dir=args.out)
    print(json.dumps({k: v for k, v in r.items() if k != "per_text"}, indent=2))
    return 0
