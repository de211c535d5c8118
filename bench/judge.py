"""Benchmark: the workshop's judge loop vs `workshop judge --mode logits` batched, in items/s;
with `--pairwise`, pairwise logits mode (both orders) vs pointwise logits mode, cost per entry.

Both run in the same process on the same model and prompts:
  loop     - one greedy `generate(prompt, max_new_tokens=50)` per item (the workshop's section 6
             part 4 loop, through this project's generate at batch 1);
  logits   - the probability of every score 0..100, `--batch-size` items per forward pass;
  pairwise - P("A"), P("B") for both orders of an entry (the right answer vs a wrong one), the two
             orders sharing their prefix in one forward; its batches alternate with pointwise
             batches of the same entries, so machine load slows both alike. Target: <= 2.2x.

    python bench/judge.py                                  # SmolLM2-135M-Instruct, offline, CPU
    python bench/judge.py --pairwise                       # pairwise vs pointwise, same judge
    python bench/judge.py --random-llama3-8b --n 256 --batch-size 32 --loop-n 16   # GPU

`--random-llama3-8b` builds a Llama-3-8B-shaped LitGPT model with random weights (bf16 on
the GPU) and a GPT-2 BPE tokenizer with Llama 3's chat special tokens added: like Llama 3's,
it writes every score 0..100 as one token. Random weights never stop early, so its loop
answers are capped at `--loop-tokens` (default 3: "85" + end of turn, what a real judge writes).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from workshop.judge import build_prompt
from workshop.judge.choice import label_token_ids, pair_label_probs
from workshop.models.score_probs import build_tree, score_probs
from workshop.judge.parse import parse_score
from workshop.judge.prompt import PAIR, PAIRWISE_TEMPLATE, fill, load_template

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "workshop" / "instruction-data.json"
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


def bench_entries(n: int) -> list[dict]:
    """`n` entries with a response to judge: the workshop's data when at hand, else synthetic ones."""
    if SHARED_DATA.exists():
        data = json.loads(SHARED_DATA.read_text(encoding="utf-8"))
        return [{**data[i % len(data)], "response": data[(i + 7) % len(data)]["output"]} for i in range(n)]
    words = "the quick brown fox jumps over a lazy dog while seven wizards quietly box jugs".split()
    return [
        {"instruction": f"Rewrite the sentence in passive voice: {' '.join(words[i % 5 :][:9])}.", "input": "",
         "output": f"A sentence about {words[i % 16]} was rewritten.",
         "response": f"The {words[(i + 3) % 16]} is here."}
        for i in range(n)
    ]


def random_llama3(config_name: str, device: torch.device, **sizes: int):
    """A LoadedModel with random weights and Llama 3's shape and chat template (no download needed).

    `sizes` overrides the config's (n_layer=2, n_embd=64, ...: a tiny model of the same architecture).
    """
    from litgpt import GPT, Config, Tokenizer
    from litgpt.prompts import Llama3
    from tokenizers import AddedToken
    from tokenizers import Tokenizer as HFTokenizer

    from workshop.models.device import precision_to_dtype, resolve_precision
    from workshop.models.llm import LoadedModel
    from workshop.models.testing import write_gpt2_tokenizer

    tok_dir = Path(tempfile.mkdtemp(prefix="bench-judge-tok-"))
    write_gpt2_tokenizer(tok_dir)
    hf = HFTokenizer.from_file(str(tok_dir / "tokenizer.json"))
    hf.add_special_tokens([AddedToken(t, special=True) for t in LLAMA3_SPECIALS])
    hf.save(str(tok_dir / "tokenizer.json"))
    config = Config.from_name(config_name, **sizes)
    dtype = precision_to_dtype(resolve_precision("auto", device))
    torch.manual_seed(0)
    with torch.device(device):
        model = GPT(config).to(dtype).eval()
    model.cos, model.sin = model.rope_cache(device=device)
    return LoadedModel(model, config, Tokenizer(tok_dir), Llama3(), device, dtype, tok_dir)


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so timings cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_loop(lm, prompts: list[str], max_new_tokens: int) -> tuple[float, list[str]]:
    """Seconds for one generate call per prompt, and the answers."""
    lm.generate(prompts[0], max_new_tokens=max_new_tokens)  # warm-up
    sync(lm.device)
    start = time.perf_counter()
    answers = [lm.generate(p, max_new_tokens=max_new_tokens) for p in prompts]
    sync(lm.device)
    return time.perf_counter() - start, answers


def time_logits(lm, prompts: list[str], batch_size: int) -> float:
    """Seconds to get every score's probability for all prompts, `batch_size` per forward."""
    tree = build_tree(lm)
    score_probs(lm, prompts[:batch_size], tree)  # warm-up
    sync(lm.device)
    start = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        score_probs(lm, prompts[i : i + batch_size], tree)
    sync(lm.device)
    return time.perf_counter() - start


def pairwise_prompts(entries: list[dict]) -> list[tuple[str, str]]:
    """Both orders of each entry: the correct output vs the wrong response, then swapped."""
    template = load_template(PAIRWISE_TEMPLATE, needs=PAIR)
    return [(fill(template, e, {"response_a": e["output"], "response_b": e["response"]}),
             fill(template, e, {"response_a": e["response"], "response_b": e["output"]})) for e in entries]


def separate_orders(lm, pairs: list[tuple[str, str]], labels: tuple[int, int]) -> torch.Tensor:
    """(B, 2, 2) P("A"), P("B") from one causal forward per order: the baseline the shared prefix replaces."""
    from workshop.models.engine import tail_logits

    rows = [lm.encode(lm.chat_prompt(p)) for pair in pairs for p in pair]
    with torch.inference_mode():
        last = torch.cat(tail_logits(lm.model, rows, [1] * len(rows))).softmax(dim=-1)  # (2B, V)
    return last[:, list(labels)].view(len(pairs), 2, 2)


def time_pairwise_vs_pointwise(lm, entries: list[dict], batch_size: int) -> tuple[float, float, float]:
    """Seconds for pointwise logits (one response per entry), pairwise logits (both orders, shared prefix)
    and pairwise with one forward per order, their batches alternating."""
    tree, labels = build_tree(lm), label_token_ids(lm)
    points, pairs = [build_prompt(e, "response") for e in entries], pairwise_prompts(entries)
    score_probs(lm, points[:batch_size], tree)  # warm-up all three
    pair_label_probs(lm, pairs[:batch_size], labels)
    separate_orders(lm, pairs[:batch_size], labels)
    seconds = [0.0, 0.0, 0.0]
    for i in range(0, len(entries), batch_size):
        for k, run in enumerate((lambda: score_probs(lm, points[i : i + batch_size], tree),
                                 lambda: pair_label_probs(lm, pairs[i : i + batch_size], labels),
                                 lambda: separate_orders(lm, pairs[i : i + batch_size], labels))):
            sync(lm.device)
            start = time.perf_counter()
            run()
            sync(lm.device)
            seconds[k] += time.perf_counter() - start
    return seconds[0], seconds[1], seconds[2]


def loop_vs_logits(lm, n: int, loop_n: int, batch_size: int, loop_tokens: int) -> dict:
    """Time the workshop's loop on `loop_n` items and logits mode on `n`: items/s of each, answers parsed."""
    prompts = [build_prompt(e, "response") for e in bench_entries(n)]
    loop_prompts = prompts[:loop_n]
    loop_s, answers = time_loop(lm, loop_prompts, loop_tokens)
    logits_s = time_logits(lm, prompts, batch_size)
    return {"loop_items_s": len(loop_prompts) / loop_s, "logits_items_s": len(prompts) / logits_s,
            "loop_s": loop_s, "logits_s": logits_s, "loop_n": len(loop_prompts), "n": len(prompts),
            "parsed": sum(parse_score(a) is not None for a in answers)}


def main() -> None:
    """Parse the flags, load or build the judge, time both paths, print items/s and the ratio."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default="smollm2-135m-instruct", help="judge checkpoint dir or name")
    p.add_argument("--random-llama3-8b", action="store_true", help="random Llama-3-8B-shaped judge (GPU)")
    p.add_argument("--random-config", default=None, help="random judge of any LitGPT config (a small one on CPU)")
    p.add_argument("--n", type=int, default=16, help="items for logits mode")
    p.add_argument("--loop-n", type=int, default=None, help="items for the loop (default: --n)")
    p.add_argument("--batch-size", type=int, default=8, help="items per forward in logits mode")
    p.add_argument("--loop-tokens", type=int, default=None, help="max_new_tokens of the loop (50; 3 for random models)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--pairwise", action="store_true", help="time pairwise logits (both orders) vs pointwise logits")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    random_config = "Llama-3-8B-Instruct" if args.random_llama3_8b else args.random_config
    if random_config:
        lm, name = random_llama3(random_config, device), f"random {random_config}"
    else:
        from workshop.models.checkpoints import resolve_checkpoint
        from workshop.models.llm import load

        lm, name = load(resolve_checkpoint(args.checkpoint, build=True), device=device), args.checkpoint
    loop_tokens = args.loop_tokens or (3 if random_config else 50)
    prompts = [build_prompt(e, "response") for e in bench_entries(args.n)]
    loop_prompts = prompts[: args.loop_n or args.n]
    lengths = [len(lm.encode(lm.chat_prompt(q))) for q in prompts]
    print(f"judge {name} on {device} ({lm.dtype}), prompts {min(lengths)}-{max(lengths)} tokens, "
          f"threads {torch.get_num_threads()}")

    if args.pairwise:
        point_s, pair_s, separate_s = time_pairwise_vs_pointwise(lm, bench_entries(args.n), args.batch_size)
        ids = [len(lm.encode(lm.chat_prompt(x))) for x, _ in pairwise_prompts(bench_entries(args.n))]
        print(f"pointwise logits (batch {args.batch_size}): {point_s / args.n * 1000:.1f} ms per entry (one response)")
        print(f"pairwise logits  (batch {args.batch_size}): {pair_s / args.n * 1000:.1f} ms per entry (two orders, "
              f"prompts {min(ids)}-{max(ids)} tokens, shared prefix)")
        print(f"pairwise, one forward per order: {separate_s / args.n * 1000:.1f} ms per entry (baseline)")
        print(f"cost ratio pairwise / pointwise: {pair_s / point_s:.2f}x (target <= 2.2x); "
              f"one forward per order: {separate_s / point_s:.2f}x")
        return
    r = loop_vs_logits(lm, args.n, len(loop_prompts), args.batch_size, loop_tokens)
    print(f"loop   (generate, max_new_tokens={loop_tokens}, batch 1): {r['loop_n']} items in {r['loop_s']:.2f} s = "
          f"{r['loop_items_s']:.2f} items/s ({r['parsed']}/{r['loop_n']} answers parse as a score)")
    print(f"logits (batch {args.batch_size}): {r['n']} items in {r['logits_s']:.2f} s = {r['logits_items_s']:.2f} items/s")
    print(f"ratio logits / loop: {r['logits_items_s'] / r['loop_items_s']:.1f}x")


if __name__ == "__main__":
    main()
