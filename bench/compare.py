"""How long `workshop compare` takes for 20 runs of 1,000 items each (goal: under 10 s on the 2-core CPU).

Makes 20 synthetic judge outputs (exact match, token F1, ROUGE-L, judge score per item; untimed,
cached in --work), then times in one process: reading the runs' files alone (the floor: json
parsing), reading them into runs, the pairing and Holm step (19 runs x 4 measures, 10,000
bootstrap resamples per score comparison), and writing compare.json/.md/.html/.png with the
item explorer. Prints each figure and the whole against the reading floor.

    python bench/compare.py [--runs 20] [--items 1000] [--work /tmp/compare-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/compare-bench"))
    args = parser.parse_args()

    from workshop.report.testing import instruction_items, judge_run

    items = instruction_items(args.items)
    paths = []
    for i in range(args.runs):
        folder = args.work / f"{args.items}-{i:02d}"
        if not (folder / "responses-judge" / "summary.json").is_file():
            judge_run(folder, items, skill=0.3 + 0.01 * i, seed=i)
        paths.append(str(folder / "responses-judge"))

    from workshop.report.compare import compare, compare_runs, unique_names
    from workshop.report.runs import read_run

    start = time.perf_counter()
    for p in paths:  # the floor: parse every file compare reads
        json.loads(Path(p, "summary.json").read_text())
        json.loads(Path(p).parent.joinpath("responses.json").read_text())
        [json.loads(line) for line in Path(p, "scores.jsonl").read_text().splitlines()]
    floor = time.perf_counter() - start

    start = time.perf_counter()
    runs = [read_run(p, n) for p, n in zip(paths, unique_names(paths))]
    read = time.perf_counter() - start
    start = time.perf_counter()
    result = compare_runs(runs, runs[0])
    stats = time.perf_counter() - start
    start = time.perf_counter()
    compare(paths, out=args.work / "out")
    whole = time.perf_counter() - start

    load = os.getloadavg()[0]
    print(f"{args.runs} runs x {args.items} items, {result['n_comparisons']} comparisons, load average {load:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"parse the files alone (floor)   {floor:6.2f} s")
    print(f"read into runs                  {read:6.2f} s")
    print(f"pair + Holm (stats)             {stats:6.2f} s")
    print(f"workshop.compare with --out     {whole:6.2f} s  ({whole / floor:.1f}x the floor; goal < 10 s)")
    html = args.work / "out" / "compare.html"
    print(f"compare.html {html.stat().st_size / 1e6:.1f} MB, {len(result['rows'])} rows")


if __name__ == "__main__":
    main()
