"""Benchmark: `workshop eval mmlu` native adapter vs LitGPT's convert-then-HFLM path, in one run.

Same checkpoint, subject, questions and batch size for both. Reports wall time (load or
convert, then evaluate), questions per second, bytes written to disk (the process's
/proc/self/io counter and the size of files left behind) and the largest difference in
per-answer log-likelihood between the two. Prints Markdown rows for bench/RESULTS.md.

    python bench/mmlu.py --limit 40                       # SmolLM2-135M-Instruct, mmlu_philosophy
    python bench/mmlu.py --model DIR --task mmlu_anatomy --limit 0   # whole subject
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from workshop.models.checkpoints import resolve_checkpoint
from workshop.evals.mmlu import evaluate

ROOT = Path(__file__).resolve().parents[1]


def io_write_bytes() -> int | None:
    """Bytes this process has caused to be written to storage (Linux), else None."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def tree_bytes(path: Path, skip: tuple[str, ...]) -> int:
    """Size of the files under `path`, except the result files named in `skip`."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f.name not in skip and not f.name.startswith("samples_"))


def run(backend: str, args: argparse.Namespace, out: Path) -> dict:
    """One evaluation; wall time covers loading (and converting) the model and evaluating."""
    before, start = io_write_bytes(), time.perf_counter()
    results = evaluate(
        args.model, args.task, data_dir=args.data_dir, limit=args.limit or None, batch_size=args.batch_size,
        backend=backend, out_dir=out, device=args.device, log_samples=True,
    )
    wall = time.perf_counter() - start
    after = io_write_bytes()
    info = results["workshop"]
    samples = [json.loads(line) for line in (out / f"samples_{args.task}.jsonl").read_text().splitlines()]
    return {
        "backend": backend, "wall_s": wall, "load_s": info["load_s"], "eval_s": info["eval_s"],
        "questions": info["questions"], "acc": results["results"][args.task]["acc,none"],
        "left_on_disk": tree_bytes(out, ("results.json", "results.md")),
        "io_written": None if before is None or after is None else after - before,
        "logliks": [r[0] for s in samples for r in s["filtered_resps"]],
    }


def synthetic_mmlu(root: Path, questions: int, subject: str = "philosophy") -> Path:
    """An MMLU-format folder (`test/{subject}_test.csv`) of made-up questions, for throughput with no download:
    each question about as long as a real philosophy one (~40 words), four short answers."""
    words = ("virtue duty reason knowledge mind truth justice freedom cause belief experience argument "
             "nature good moral claim view theory world person").split()
    (root / "test").mkdir(parents=True, exist_ok=True)
    with open(root / "test" / f"{subject}_test.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        for i in range(questions):
            text = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(40))
            writer.writerow([f"According to the passage, {text}?", *(f"the {words[(i + k) % len(words)]}" for k in range(4)),
                             "ABCD"[i % 4]])
    return root


def native_vs_hf(args: argparse.Namespace) -> tuple[dict, dict, float]:
    """Both backends on `args` (model dir, task, data_dir, limit, batch_size, device), in one temporary folder:
    (native row, hf row, max |log-likelihood difference|)."""
    (args.model / "lit_model.pth").read_bytes()  # both runs start with the checkpoint in the page cache
    with tempfile.TemporaryDirectory(prefix="bench-mmlu-") as tmp:
        native, hf = [run(backend, args, Path(tmp) / backend) for backend in ("native", "hf")]
    return native, hf, max(abs(a - b) for a, b in zip(native["logliks"], hf["logliks"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m-instruct", help="checkpoint (default: SmolLM2, built offline if missing)")
    p.add_argument("--task", default="mmlu_philosophy", help="one lm-eval MMLU subject task")
    p.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mmlu", help="official MMLU CSV folder")
    p.add_argument("--limit", type=int, default=40, help="questions (0 = the whole subject)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    args = p.parse_args()
    args.model = resolve_checkpoint(args.model, build=True)
    native, hf, delta = native_vs_hf(args)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(f"\n{args.model.name}, {args.task}, {native['questions']} questions, batch {args.batch_size}, "
          f"{device} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), torch {torch.__version__}")
    print("\n| backend | load/convert s | eval s | wall s | questions/s (eval) | questions/s (wall) | bytes left on disk | bytes written (/proc) | acc |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in (native, hf):
        io = f"{r['io_written']:,}" if r["io_written"] is not None else "n/a"
        print(f"| {r['backend']} | {r['load_s']:.1f} | {r['eval_s']:.1f} | {r['wall_s']:.1f} | {r['questions'] / r['eval_s']:.2f} "
              f"| {r['questions'] / r['wall_s']:.2f} | {r['left_on_disk']:,} | {io} | {r['acc']:.4f} |")
    print(f"\nnative vs hf: {hf['eval_s'] / native['eval_s']:.2f}x questions/s (eval only), "
          f"{hf['wall_s'] / native['wall_s']:.2f}x end to end; max |loglik difference| {delta:.2e} over {len(native['logliks'])} answers")


if __name__ == "__main__":
    main()
