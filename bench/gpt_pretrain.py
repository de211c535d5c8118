"""Pretraining throughput of GPT-2 124M: the workshop's path vs the fast path, in one run.

workshop path: attn_impl="eager", fp32 matmuls, AdamW with default settings (section 4's code).
fast path:     attn_impl="sdpa", bf16 autocast where the device supports it (a bf16 GPU, or
               --cpu-bf16), fused AdamW, TF32 matmuls on CUDA, and torch.compile (--compile;
               on by default on CUDA).
Both train the same model (workshop config, dropout 0.1) on the same random tokens, their
timed steps alternating so that a busy machine slows both alike; the script prints tokens/s
of each and the ratio fast / workshop.

    python bench/gpt_pretrain.py                              # CPU: small defaults, < 3 minutes
    python bench/gpt_pretrain.py --device cuda --context 1024 --batch 8 --steps 30
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from workshop.models.device import default_device
from workshop.gpt.model import GPT_CONFIG_124M, GPTModel


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--steps", type=int, help="timed optimizer steps per path (default: 30 GPU, 3 CPU)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (default: 5 GPU, 1 CPU; compile needs some)")
    parser.add_argument("--context", type=int, help="tokens per sequence (default: 1024 GPU, 128 CPU)")
    parser.add_argument("--batch", type=int, help="sequences per step (default: 8 GPU, 2 CPU)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, help="torch.compile the fast path (default: on CUDA)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--cpu-bf16", action="store_true", help="use bf16 autocast on CPU too (helps only with AMX/AVX512-BF16)")
    args = parser.parse_args()
    args.device = torch.device(args.device) if args.device else default_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = args.device.type == "cuda"
    for name, gpu_default, cpu_default in (("steps", 30, 3), ("warmup", 5, 1), ("context", 1024, 128), ("batch", 8, 2)):
        if getattr(args, name) is None:
            setattr(args, name, gpu_default if gpu else cpu_default)
    if args.compile is None:
        args.compile = gpu
    args.model = GPT_CONFIG_124M
    return args


def build_path(args: argparse.Namespace, fast: bool):
    """(step, uses_bf16): a closure running one training step of the workshop or the fast path.

    `args`: device, context, batch, compile, cpu_bf16 and model (a GPT config dict: GPT_CONFIG_124M).
    """
    device = args.device
    cfg = {**args.model, "context_length": args.context, "attn_impl": "sdpa" if fast else "eager"}
    torch.manual_seed(123)
    model = GPTModel(cfg).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-4, weight_decay=0.1, fused=True if fast else None)
    use_bf16 = fast and (
        (device.type == "cuda" and torch.cuda.is_bf16_supported()) or (device.type == "cpu" and args.cpu_bf16)
    )
    forward = torch.compile(model) if fast and args.compile else model
    data = torch.randint(0, cfg["vocab_size"], (args.batch, args.context + 1), generator=torch.Generator().manual_seed(0))
    inputs, targets = data[:, :-1].to(device), data[:, 1:].to(device)  # (batch, context) each

    def step() -> float:
        torch.backends.cuda.matmul.allow_tf32 = fast  # TF32 matmuls for the fast path only
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = forward(inputs)  # (batch, context, vocab_size)
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        loss.backward()
        optimizer.step()
        return loss.item()  # also waits for the GPU

    return step, use_bf16


def time_paths(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Warm up both paths, then alternate their timed steps so load changes hit both alike.

    Per path: tok_s, step_s, the last loss, peak_gib (CUDA) and whether it ran in bf16.
    """
    built = {"workshop": build_path(args, fast=False), "fast": build_path(args, fast=True)}
    paths = {name: step for name, (step, _) in built.items()}
    for step in paths.values():
        for _ in range(args.warmup):
            step()
    seconds, peak, loss = dict.fromkeys(paths, 0.0), dict.fromkeys(paths, 0.0), {}
    for i in range(args.steps):
        for name in list(paths) if i % 2 == 0 else list(paths)[::-1]:
            if args.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(args.device)
            start = time.perf_counter()
            loss[name] = paths[name]()
            seconds[name] += time.perf_counter() - start
            if args.device.type == "cuda":
                peak[name] = max(peak[name], torch.cuda.max_memory_allocated(args.device) / 2**30)
    tokens = args.steps * args.batch * args.context
    return {
        name: {"tok_s": tokens / seconds[name], "step_s": seconds[name] / args.steps, "loss": loss[name],
               "peak_gib": peak[name], "bf16": built[name][1]}
        for name in paths
    }


def main() -> None:
    args = parse_args()
    name = torch.cuda.get_device_name(args.device) if args.device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"GPT-2 124M pretraining, {name}, torch {torch.__version__}")
    print(f"batch {args.batch} x context {args.context}, {args.warmup} warmup + {args.steps} timed steps, compile={args.compile}")
    results = time_paths(args)
    workshop, fast = results["workshop"], results["fast"]
    fast_label = "fast (sdpa, fused AdamW" + (", bf16" if fast["bf16"] else "") + (", compile" if args.compile else "") + ")"
    for label, r in (("workshop (eager, fp32)", workshop), (fast_label, fast)):
        memory = f"peak {r['peak_gib']:.1f} GiB" if args.device.type == "cuda" else ""
        print(f"{label:<45} {r['tok_s']:>12,.0f} tok/s  {r['step_s']:.3f} s/step  loss {r['loss']:.3f}  {memory}")
    print(f"ratio fast / workshop: {fast['tok_s'] / workshop['tok_s']:.2f}x")


if __name__ == "__main__":
    main()
