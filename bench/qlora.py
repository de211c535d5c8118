"""Benchmark: QLoRA (base weights in 4-bit NF4) vs bf16 LoRA, peak memory and seconds per step, in one run.

Both train LoRA adapters with the shipped `recipes/finetune/qlora-nf4.yaml` settings (rank, alpha,
dropout, which layers, micro batch, sequence length, precision) on a model with random weights of a
LitGPT architecture (Llama-3-8B-Instruct by default: no download), built the way LitGPT's
`finetune_lora` builds it (Fabric with `BitsandbytesPrecision`, `mark_only_lora_as_trainable`,
bitsandbytes' paged AdamW) on random tokens. The two paths run one after the other (each needs the GPU's
memory to itself), so the peak memory of each is its own.

    python bench/qlora.py --steps 20                     # one CUDA GPU with bitsandbytes
    python bench/qlora.py --architecture pythia-14m --steps 3 --no-quantize   # CPU: the code path only

Lightning Fabric refuses bitsandbytes on CPU ("Bitsandbytes is only supported on CUDA GPUs."), so
on CPU both paths run unquantized: a rehearsal of the code, not a figure.
"""

from __future__ import annotations

import argparse
import time

import torch

from workshop.core.paths import RECIPES_DIR
from workshop.run.recipes import load_recipe

RECIPE = RECIPES_DIR / "finetune" / "qlora-nf4.yaml"
LORA_KEYS = ("lora_r", "lora_alpha", "lora_dropout", "lora_query", "lora_key", "lora_value", "lora_projection",
             "lora_mlp", "lora_head")


def time_lora(architecture: str, quantize: str | None, steps: int, warmup: int = 2, device: str = "cuda",
              sizes: dict | None = None, seq_len: int | None = None) -> dict:
    """LoRA training steps on random tokens: s/step, peak GiB (CUDA: weights, optimizer and activations), weight GiB,
    last loss.

    `quantize`: "bnb.nf4-dq" etc. or None (the recipe's precision, bf16-true, else 32-true on CPU).
    `sizes`: config overrides (n_layer=2, ...) for a tiny model of the same architecture; `seq_len`: tokens per
    sequence (default: the recipe's max_seq_length).
    """
    import lightning as L
    from lightning.fabric.plugins import BitsandbytesPrecision
    from litgpt.lora import GPT, Config, mark_only_lora_as_trainable
    from litgpt.utils import chunked_cross_entropy, instantiate_bnb_optimizer, instantiate_torch_optimizer

    recipe = load_recipe(RECIPE)
    before = torch.cuda.memory_allocated() if device == "cuda" else 0  # anything an earlier run left is not ours
    micro_batch, seq_len = recipe["train"]["micro_batch_size"], seq_len or recipe["train"]["max_seq_length"]
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    precision = recipe["precision"] if device == "cuda" else "32-true"
    plugins = BitsandbytesPrecision(quantize[4:], dtype) if quantize else None
    fabric = L.Fabric(accelerator=device, devices=1, precision=None if quantize else precision, plugins=plugins)
    config = Config.from_name(architecture, **{k: recipe[k] for k in LORA_KEYS if k in recipe}, **(sizes or {}))
    torch.manual_seed(0)
    with fabric.init_module(empty_init=False):  # as LitGPT's finetune_lora on one device
        model = GPT(config)
    mark_only_lora_as_trainable(model)
    model = fabric.setup_module(model)
    instantiate = instantiate_bnb_optimizer if quantize else instantiate_torch_optimizer  # as LitGPT picks
    optimizer = fabric.setup_optimizers(instantiate(recipe["optimizer"], model.parameters()))
    tokens = torch.randint(0, config.vocab_size, (micro_batch, seq_len + 1), generator=torch.Generator().manual_seed(0))
    inputs, targets = tokens[:, :-1].to(fabric.device), tokens[:, 1:].to(fabric.device)
    weight_bytes = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))

    def step() -> float:
        loss = chunked_cross_entropy(model(inputs), targets)
        fabric.backward(loss)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()  # also waits for the GPU

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    loss = [step() for _ in range(steps)][-1]
    seconds = (time.perf_counter() - start) / steps
    peak = (torch.cuda.max_memory_allocated() - before) / 2**30 if device == "cuda" else None
    del model, optimizer
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"step_s": seconds, "peak_gib": peak, "weights_gib": weight_bytes / 2**30, "loss": loss,
            "micro_batch": micro_batch, "seq_len": seq_len, "quantize": quantize}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--architecture", default="Llama-3-8B-Instruct", help="LitGPT config name (random weights)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per path")
    p.add_argument("--quantize", default=load_recipe(RECIPE)["quantize"], help="bitsandbytes mode of the QLoRA path")
    p.add_argument("--no-quantize", action="store_true", help="run the QLoRA path unquantized (CPU rehearsal)")
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    plain = "bf16 LoRA" if device == "cuda" else "fp32 LoRA (CPU)"
    four_bit = f"QLoRA {args.quantize}" + (" path, unquantized" if args.no_quantize else "")
    for label, quantize in ((plain, None), (four_bit, None if args.no_quantize else args.quantize)):
        r = time_lora(args.architecture, quantize, args.steps, device=device)
        peak = f"peak {r['peak_gib']:.1f} GiB" if r["peak_gib"] is not None else "peak n/a (CPU)"
        print(f"{label:<32} random {args.architecture}, micro batch {r['micro_batch']} x {r['seq_len']} tokens: "
              f"{r['step_s']:.3f} s/step, {peak}, weights {r['weights_gib']:.2f} GiB, loss {r['loss']:.3f}")


if __name__ == "__main__":
    main()
