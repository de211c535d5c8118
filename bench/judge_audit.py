"""Benchmark: the time `--audit` adds to a judge run, against the judge run itself, in one process.

Baseline: `score_file` on the data (fresh output folder, the judge loaded and every item judged).
Then the same call with `audit=True` on the same folder: the run's own judgements come from its
cache, so the time measured is the audit alone (loading the judge again, judging each entry's
reference answer and every probe). The ratio audit / baseline is what `--audit` costs.

    python bench/judge_audit.py                                     # the 12-pair fixture, SmolLM2, CPU
    python bench/judge_audit.py --data out/quickstart/respond_after/responses.json \\
        --key response_before --key response_after --audit-items 8  # the quickstart's data
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from workshop.judge import score_file

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "judge_audit_pairs.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FIXTURE)
    parser.add_argument("--key", action="append", help="response keys (default: right, wrong of the fixture)")
    parser.add_argument("--judge", default="smollm2-135m-instruct")
    parser.add_argument("--mode", default="logits")
    parser.add_argument("--limit", type=int, default=None, help="judge only the first N entries")
    parser.add_argument("--audit-items", type=int, default=None, help="default: workshop judge's --audit-items")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    keys = args.key or ["right", "wrong"]
    common = dict(judge=args.judge, mode=args.mode, batch_size=args.batch_size, limit=args.limit, progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        score_file(args.data, keys, out_dir=Path(tmp), **common)
        base = time.perf_counter() - start
        start = time.perf_counter()
        items = {} if args.audit_items is None else {"audit_items": args.audit_items}
        summary = score_file(args.data, keys, out_dir=Path(tmp), audit=True, **items, **common)
        audit = time.perf_counter() - start
        n_probed = sum(1 for _ in (Path(tmp) / "audit.jsonl").open())
    n_judged = sum(k["n"] for k in summary["keys"].values())
    print(json.dumps({"data": str(args.data), "judge": args.judge, "threads": torch.get_num_threads(),
                      "judged": n_judged, "probed": n_probed, "judge_run_s": round(base, 1),
                      "audit_added_s": round(audit, 1), "ratio": round(audit / base, 2)}))


if __name__ == "__main__":
    main()
