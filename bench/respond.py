"""Benchmark: the workshop's respond loop (one LitGPT `generate` per entry) vs batched `respond`.

Both decode greedily with a KV cache for the same number of new tokens, in one run, and the
script prints items/s and the ratio. CPU default: the offline SmolLM2-135M-Instruct
checkpoint. `--random-llama3-8b` builds a Llama-3-8B-shaped model with random weights on
the GPU (throughput only; a GPU box is needed).

    python bench/respond.py --n 16 --batch-size 16 --max-new-tokens 32
    python bench/respond.py --random-llama3-8b --n 64 --batch-size 16 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import time

import torch
from litgpt.generate.base import generate as litgpt_generate

from judge import random_llama3  # bench/judge.py: the same random Llama-3-shaped model
from workshop.models.engine import generate_tokens
from workshop.models.llm import LoadedModel


def workshop_loop(lm: LoadedModel, prompts: list[list[int]], max_new_tokens: int) -> float:
    """One `litgpt.generate.base.generate` call per prompt (what `LLM.generate` runs); returns seconds."""
    start = time.perf_counter()
    for ids in prompts:
        lm.model.set_kv_cache(batch_size=1, max_seq_length=len(ids) + max_new_tokens, device=lm.device)
        prompt = torch.tensor(ids, device=lm.device)
        litgpt_generate(lm.model, prompt, len(ids) + max_new_tokens, temperature=0.0, eos_id=None)
        lm.model.clear_kv_cache()
    if lm.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def batched(lm: LoadedModel, prompts: list[list[int]], max_new_tokens: int, batch_size: int) -> float:
    """`workshop respond`'s engine: `batch_size` prompts decoded together; returns seconds."""
    start = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        generate_tokens(lm.model, prompts[i : i + batch_size], max_new_tokens)
    if lm.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def loop_vs_batched(lm: LoadedModel, n: int, batch_size: int, max_new_tokens: int,
                    data: str = "data/instructions/instruction-data.json") -> dict:
    """Time the workshop loop and batched respond on the first `n` entries of `data`: items/s of each."""
    from workshop.core.paths import project_path
    from workshop.datasets.instructions import load_instructions
    from workshop.respond import entry_prompt

    entries = load_instructions(project_path(data))[:n]
    prompts = [lm.encode(entry_prompt(lm, e)) for e in entries]
    batched(lm, prompts[:2], 2, 2)  # warm-up
    loop_s = workshop_loop(lm, prompts, max_new_tokens)
    batch_s = batched(lm, prompts, max_new_tokens, batch_size)
    return {"loop_items_s": len(prompts) / loop_s, "batched_items_s": len(prompts) / batch_s,
            "loop_s": loop_s, "batched_s": batch_s, "n": len(prompts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="checkpoint dir or alias")
    parser.add_argument("--random-llama3-8b", action="store_true", help="random Llama-3-8B-shaped model on the GPU")
    parser.add_argument("--n", type=int, default=16, help="entries")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--data", default="data/instructions/instruction-data.json", help="entries to answer")
    args = parser.parse_args()

    if args.random_llama3_8b:
        lm = random_llama3("Llama-3-8B-Instruct", torch.device("cuda"))
    else:
        from workshop.models.checkpoints import resolve_checkpoint
        from workshop.models.llm import load

        lm = load(resolve_checkpoint(args.model, build=True))
    r = loop_vs_batched(lm, args.n, args.batch_size, args.max_new_tokens, args.data)
    name = "random Llama-3-8B (bf16)" if args.random_llama3_8b else f"{args.model} ({lm.dtype})"
    print(f"model: {name} on {lm.device}; {r['n']} entries x {args.max_new_tokens} new tokens")
    print(f"workshop loop (1 generate per entry): {r['loop_items_s']:8.2f} items/s  ({r['loop_s']:.1f} s)")
    print(f"batched respond (batch {args.batch_size}):       {r['batched_items_s']:8.2f} items/s  ({r['batched_s']:.1f} s)")
    print(f"speed-up: {r['loop_s'] / r['batched_s']:.2f}x")


if __name__ == "__main__":
    main()
