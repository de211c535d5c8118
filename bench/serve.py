"""Benchmark: `workshop serve` under N concurrent clients vs the same server answering one request at a time.

Starts a real `workshop serve` on 127.0.0.1 (a free port; loopback only) over the offline
SmolLM2-135M-Instruct (built into a temp dir unless --model is given), then in one run:
  1. the acceptance check: the official openai client asks "What is the capital of France?";
  2. one-at-a-time: --sequential requests, each sent after the previous answer;
  3. concurrent: --clients threads send --clients x --rounds requests at once (the server batches them).
All requests are greedy chat completions of the project's instructions (data/instructions/) with the
same --max-tokens. Prints requests/s and generated tokens/s for both, the ratio, p50/p99 latency,
failed and lost requests (every request must come back with its own answer), and whether each
prompt got the same answer batched as alone. Bounded: a per-request timeout and a total budget.

    python bench/serve.py                       # 32 clients, SmolLM2 on CPU
    python bench/serve.py --clients 8 --max-tokens 16 --model checkpoints/HuggingFaceTB/SmolLM2-135M-Instruct
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ask(client, model: str, prompt: str, max_tokens: int, timeout: float) -> dict:
    """One greedy chat request: its answer, generated tokens and latency, or the error it got."""
    start = time.perf_counter()
    try:
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}],
                                           max_tokens=max_tokens, temperature=0, timeout=timeout)
        text, tokens = r.choices[0].message.content, r.usage.completion_tokens
        return {"prompt": prompt, "text": text, "tokens": tokens, "s": time.perf_counter() - start,
                "error": None if text is not None and tokens > 0 else "empty answer"}
    except Exception as e:  # noqa: BLE001  (counted as a failed request, reported below)
        return {"prompt": prompt, "text": None, "tokens": 0, "s": time.perf_counter() - start, "error": repr(e)}


def summarize(name: str, results: list[dict], wall: float, sent: int) -> dict:
    ok = [r for r in results if r["error"] is None]
    latencies = [r["s"] for r in ok] or [float("nan")]
    row = {"run": name, "sent": sent, "answered": len(ok), "failed": len(results) - len(ok),
           "lost": sent - len(results), "wall_s": wall, "req_per_s": len(ok) / wall,
           "tok_per_s": sum(r["tokens"] for r in ok) / wall, "p50_s": percentile(latencies, 50),
           "p99_s": percentile(latencies, 99), "mean_tokens": statistics.mean([r["tokens"] for r in ok] or [0])}
    print(f"{name:>13}: {row['answered']}/{sent} answered, {row['failed']} failed, {row['lost']} lost, "
          f"{wall:.1f} s, {row['req_per_s']:.2f} req/s, {row['tok_per_s']:.1f} tok/s, "
          f"p50 {row['p50_s']:.2f} s, p99 {row['p99_s']:.2f} s")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint dir (default: build SmolLM2-135M-Instruct offline in a temp dir)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=1, help="requests per client")
    parser.add_argument("--sequential", type=int, default=8, help="one-at-a-time requests (the baseline)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-batch-size", type=int, default=16, help="the server's batch limit")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds for the concurrent phase in all")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import openai

    from workshop.models.testing import running_server

    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    model = args.model
    if model is None:
        from workshop.models.checkpoints import build_smollm2

        start = time.perf_counter()
        model = str(build_smollm2(tmp / "HuggingFaceTB" / "SmolLM2-135M-Instruct"))
        print(f"built SmolLM2-135M-Instruct offline in {time.perf_counter() - start:.0f} s")
    instructions = [e["instruction"] for e in json.loads((ROOT / "data/instructions/instruction-data.json").read_text())]
    n = args.clients * args.rounds
    prompts = [instructions[i % len(instructions)] for i in range(n)]
    flags = ("--max-batch-size", str(args.max_batch_size), "--max-new-tokens", str(args.max_tokens))
    with running_server(model, tmp / "serve.log", *flags) as url:
        client = openai.OpenAI(base_url=url, api_key="EMPTY", max_retries=0)
        name = client.models.list().data[0].id
        capital = client.chat.completions.create(model=name, temperature=0, max_tokens=32, messages=[
            {"role": "user", "content": "What is the capital of France?"}]).choices[0].message.content
        print(f"openai client, 'What is the capital of France?' -> {capital!r}")

        start, alone = time.perf_counter(), []
        for prompt in prompts[: args.sequential]:
            alone.append(ask(client, name, prompt, args.max_tokens, args.timeout))
        rows = [summarize("one at a time", alone, time.perf_counter() - start, args.sequential)]

        with ThreadPoolExecutor(args.clients) as pool:
            start = time.perf_counter()
            futures = [pool.submit(ask, client, name, p, args.max_tokens, args.timeout) for p in prompts]
            done, _ = wait(futures, timeout=args.budget)
            wall = time.perf_counter() - start
            together = [f.result() for f in done]
            for f in futures:
                f.cancel()
        rows.append(summarize(f"{args.clients} clients", together, wall, n))

    same = {r["prompt"]: r["text"] for r in together}
    agree = sum(same.get(r["prompt"]) == r["text"] for r in alone)
    ratio_req, ratio_tok = rows[1]["req_per_s"] / rows[0]["req_per_s"], rows[1]["tok_per_s"] / rows[0]["tok_per_s"]
    print(f"concurrent vs one at a time: {ratio_req:.2f}x requests/s, {ratio_tok:.2f}x tokens/s; "
          f"same answer batched as alone: {agree}/{len(alone)}")
    if args.json:
        args.json.write_text(json.dumps({"capital": capital, "runs": rows, "ratio_req": ratio_req,
                                         "ratio_tok": ratio_tok, "agree": agree}, indent=2))


if __name__ == "__main__":
    main()
