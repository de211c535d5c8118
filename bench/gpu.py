"""Every GPU figure in one command, each against its baseline measured in the same run; writes gpu.json.

    python bench/gpu.py                  # one H100/H200, no network: about 5-8 minutes
    python bench/gpu.py --smoke          # the same code paths, tiny models of the same architectures, CPU, < 1 min

Figures (random weights of the real architectures stand in for downloads, so no network is needed):
  pretrain   GPT-2 124M pretraining tokens/s, context 1024, batch 8: SDPA + bf16 + torch.compile
             vs the seed's fp32 eager loop (bench/gpt_pretrain.py)
  judge      judge logits mode, Llama-3-8B-shaped model in bf16, vs the seed's generate-and-parse loop
             (bench/judge.py)
  respond    batched respond (batch 16) vs one generate per entry, same model (bench/respond.py)
  qlora_*    QLoRA nf4 (recipes/finetune/qlora-nf4.yaml settings), Llama-3-8B-shaped, 20 steps:
             peak memory and s/step vs the same LoRA in bf16 (bench/qlora.py)
  mmlu       MMLU log-likelihoods/s, the native adapter vs LitGPT's converted-copy path (bench/mmlu.py),
             a Llama-3-8B-wide model with --mmlu-layers layers, on ../shared MMLU CSVs or made-up questions
A figure that fails is recorded as failed (its error in gpu.json) and the others still run.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch

import gpt_pretrain
import judge
import mmlu as mmlu_bench
import qlora
import respond
from workshop.core.io import atomic_write_json
from workshop.gpt.model import GPT_CONFIG_124M

ROOT = Path(__file__).resolve().parents[1]
SHARED_MMLU = ROOT.parent / "shared" / "data" / "mmlu"
LLAMA3 = "Llama-3-8B-Instruct"
TINY_LLAMA3 = dict(n_layer=2, n_embd=64, n_head=4, n_query_groups=2, head_size=16, intermediate_size=128,
                   vocab_size=50257, padded_vocab_size=50304)  # the GPT-2 tokenizer's ids (+ Llama 3's specials) fit
TINY_GPT2 = {**GPT_CONFIG_124M, "emb_dim": 64, "n_heads": 4, "n_layers": 2, "vocab_size": 512}
TINY_VOCAB = dict(vocab_size=512, padded_vocab_size=512)  # random tokens only: a small head keeps the CPU run short
# Per figure: (full size on the GPU, smoke size on CPU)
SIZES = {
    "pretrain": ({"context": 1024, "batch": 8, "steps": 30, "warmup": 5}, {"context": 64, "batch": 2, "steps": 2, "warmup": 1}),
    "judge": ({"n": 256, "loop_n": 16, "batch_size": 32}, {"n": 8, "loop_n": 2, "batch_size": 4}),
    "respond": ({"n": 16, "batch_size": 16, "max_new_tokens": 64}, {"n": 4, "batch_size": 4, "max_new_tokens": 4}),
    "qlora": ({"steps": 20, "warmup": 2}, {"steps": 2, "warmup": 1, "seq_len": 64}),
    "mmlu": ({"limit": 100, "batch_size": 8}, {"limit": 4, "batch_size": 2}),
}


def figure(what: str, weights: str, unit: str, value: float, baseline: float, baseline_is: str, goal: str,
           lower_is_better: bool = False, **details: Any) -> dict:
    """One row of gpu.json; `ratio` is how many times better than the baseline (> 1: better)."""
    ratio = baseline / value if lower_is_better else value / baseline
    return {"status": "ok", "what": what, "weights": weights, "unit": unit, "value": value, "baseline": baseline,
            "baseline_is": baseline_is, "ratio": ratio, "goal": goal, "details": details}


def pretrain(args: argparse.Namespace) -> dict:
    size = SIZES["pretrain"][args.smoke]
    ns = argparse.Namespace(device=args.device, compile=args.device.type == "cuda", cpu_bf16=False,
                            model=TINY_GPT2 if args.smoke else GPT_CONFIG_124M, **size)
    r = gpt_pretrain.time_paths(ns)
    fast, seed = r["fast"], r["workshop"]
    return figure(f"GPT-2 124M pretraining, context {ns.context}, batch {ns.batch}", "random init (GPT-2 124M config)",
                  "tokens/s", fast["tok_s"], seed["tok_s"], "the seed's loop (eager attention, fp32)",
                  ">= 350,000 tokens/s on an H100", fast_path="sdpa, fused AdamW" + (", bf16" if fast["bf16"] else "")
                  + (", compile" if ns.compile else ""), peak_gib=fast["peak_gib"], baseline_peak_gib=seed["peak_gib"],
                  loss=fast["loss"], **size)


def judge_figure(args: argparse.Namespace, lm: Any) -> dict:
    size = SIZES["judge"][args.smoke]
    r = judge.loop_vs_logits(lm, size["n"], size["loop_n"], size["batch_size"], loop_tokens=3)
    return figure(f"judge --mode logits, {LLAMA3}-shaped, {lm.dtype}", f"random ({LLAMA3} architecture)", "items/s",
                  r["logits_items_s"], r["loop_items_s"], "the seed's loop (generate 3 tokens + parse, batch 1)",
                  ">= 60 items/s and >= 40x the loop", **size)


def respond_figure(args: argparse.Namespace, lm: Any) -> dict:
    size = SIZES["respond"][args.smoke]
    r = respond.loop_vs_batched(lm, size["n"], size["batch_size"], size["max_new_tokens"])
    return figure(f"respond, batch {size['batch_size']}, {LLAMA3}-shaped, {lm.dtype}", f"random ({LLAMA3} architecture)",
                  "items/s", r["batched_items_s"], r["loop_items_s"], "one LitGPT generate per entry", ">= 10x", **size)


def qlora_figures(args: argparse.Namespace) -> dict[str, dict]:
    size, device = SIZES["qlora"][args.smoke], args.device.type
    quantize = qlora.load_recipe(qlora.RECIPE)["quantize"] if device == "cuda" else None  # Fabric: CUDA only
    sizes = {**TINY_LLAMA3, **TINY_VOCAB} if args.smoke else None
    base = qlora.time_lora(LLAMA3, None, device=device, sizes=sizes, **size)
    four_bit = qlora.time_lora(LLAMA3, quantize, device=device, sizes=sizes, **size)
    label = f"QLoRA {quantize}" if quantize else "QLoRA path with quantize removed (CPU: Fabric refuses bitsandbytes)"
    common = dict(weights=f"random ({LLAMA3} architecture)", baseline_is="the same LoRA, weights in bf16"
                  if device == "cuda" else "the same LoRA, weights in fp32", lower_is_better=True,
                  micro_batch=four_bit["micro_batch"], seq_len=four_bit["seq_len"], steps=size["steps"])
    memory = ("peak GiB", four_bit["peak_gib"], base["peak_gib"]) if device == "cuda" else \
        ("weight GiB (CPU: no peak counter)", four_bit["weights_gib"], base["weights_gib"])
    return {
        "qlora_memory": figure(f"{label}, {size['steps']} steps: memory", unit=memory[0], value=memory[1],
                               baseline=memory[2], goal="fits a 16 GB GPU", weights_gib=four_bit["weights_gib"], **common),
        "qlora_step": figure(f"{label}, {size['steps']} steps: time per step", unit="s/step", value=four_bit["step_s"],
                             baseline=base["step_s"], goal="(none; the price of the memory saved)",
                             loss=four_bit["loss"], **common),
    }


def mmlu_figure(args: argparse.Namespace) -> dict:
    from litgpt import Config

    from workshop.models.testing import tiny_checkpoint

    size = SIZES["mmlu"][args.smoke]
    sizes = {} if args.smoke else dict(n_layer=args.mmlu_layers, n_embd=4096, n_head=32, n_query_groups=8)
    with tempfile.TemporaryDirectory(prefix="bench-gpu-mmlu-") as tmp:
        model = tiny_checkpoint(Path(tmp) / "model", architecture=LLAMA3, init_std=0.02, **sizes)
        data = args.mmlu_data or (SHARED_MMLU if SHARED_MMLU.is_dir() else mmlu_bench.synthetic_mmlu(Path(tmp) / "mmlu", 200))
        ns = argparse.Namespace(model=model, task="mmlu_philosophy", data_dir=data, device=args.device.type, **size)
        native, hf, delta = mmlu_bench.native_vs_hf(ns)
        layers = Config.from_file(model / "model_config.yaml").n_layer
    rate = {r["backend"]: len(r["logliks"]) / r["eval_s"] for r in (native, hf)}
    return figure(f"MMLU log-likelihoods/s, {LLAMA3}-wide, {layers} layers, {native['questions']} questions",
                  f"random ({LLAMA3} attention widths, {layers} layers, MLP 4x n_embd)", "log-likelihoods/s", rate["native"], rate["hf"],
                  "LitGPT's convert + HFLM path", "(none; native writes no copy)", data="../shared MMLU CSVs"
                  if Path(data) == SHARED_MMLU else str(data) if args.mmlu_data else "made-up questions",
                  wall_s={"native": native["wall_s"], "hf": hf["wall_s"]}, copy_bytes=hf["left_on_disk"],
                  max_loglik_diff=delta, **size)


def measure(name: str, results: dict, build: Callable[[], dict]) -> None:
    """Run one figure (or a group); record it, or its failure, and go on."""
    print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
    start = time.perf_counter()
    try:
        out = build()
        rows = out if "status" not in out else {name: out}
    except Exception as e:  # a failed figure must not stop the others
        traceback.print_exc()
        rows = {name: {"status": "failed", "error": f"{type(e).__name__}: {e}"}}
    for key, row in rows.items():
        row["seconds"] = time.perf_counter() - start
        results[key] = row
        print(f"[{time.strftime('%H:%M:%S')}] {key}: {describe(row)}", flush=True)


def describe(row: dict) -> str:
    if row["status"] != "ok":
        return f"FAILED ({row['error']})"
    return (f"{row['value']:,.4g} {row['unit']} vs {row['baseline']:,.4g} ({row['baseline_is']}): {row['ratio']:.2f}x; "
            f"goal {row['goal']}; weights: {row['weights']}")


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny models of the same architectures on CPU (< 1 minute)")
    p.add_argument("--out", type=Path, default=Path("gpu.json"), help="where to write the figures")
    p.add_argument("--only", nargs="*", default=None, help="figures to run (pretrain judge respond qlora mmlu)")
    p.add_argument("--mmlu-layers", type=int, default=4, help="layers of the MMLU model (Llama 3 8B widths)")
    p.add_argument("--mmlu-data", type=Path, default=None, help="MMLU CSV folder (default ../shared, else made up)")
    args = p.parse_args()
    args.device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if not args.smoke and args.device.type != "cuda":
        print("bench/gpu.py: no CUDA GPU here; run with --smoke for the CPU rehearsal", file=sys.stderr)
        return 2
    if args.smoke:
        torch.set_num_threads(min(2, torch.get_num_threads()))
    name = torch.cuda.get_device_name() if args.device.type == "cuda" else f"CPU ({platform.machine()})"
    print(f"bench/gpu.py{' --smoke' if args.smoke else ''}: {name}, torch {torch.__version__}", flush=True)
    wanted = set(args.only or ("pretrain", "judge", "respond", "qlora", "mmlu"))
    started, results = time.perf_counter(), {}
    if "pretrain" in wanted:
        measure("pretrain", results, lambda: pretrain(args))
        free(args.device)
    model = functools.cache(lambda: judge.random_llama3(LLAMA3, args.device, **(TINY_LLAMA3 if args.smoke else {})))
    for key, run in (("judge", judge_figure), ("respond", respond_figure)):  # one model for both
        if key in wanted:
            measure(key, results, lambda run=run: run(args, model()))
    model.cache_clear()
    free(args.device)
    if "qlora" in wanted:
        measure("qlora", results, lambda: qlora_figures(args))
        free(args.device)
    if "mmlu" in wanted:
        measure("mmlu", results, lambda: mmlu_figure(args))
    report = {"device": name, "torch": torch.__version__, "smoke": args.smoke, "wall_s": time.perf_counter() - started,
              "figures": results}
    atomic_write_json(args.out, report)
    print(f"\n{'figure':<14} {'value':>14} {'baseline':>14} {'ratio':>8}  unit / goal")
    for key, row in results.items():
        if row["status"] == "ok":
            print(f"{key:<14} {row['value']:>14,.4g} {row['baseline']:>14,.4g} {row['ratio']:>7.2f}x  "
                  f"{row['unit']} / goal {row['goal']}")
        else:
            print(f"{key:<14} {'FAILED':>14}  {row['error'][:90]}")
    print(f"random weights of the real architectures throughout; {report['wall_s']:.0f} s in all; wrote {args.out}")
    return 0 if all(row["status"] == "ok" for row in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
