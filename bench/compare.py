"""How long `workshop compare` takes for 20 runs of 1,000 items each (goal: under 10 s on the 2-core CPU).

Makes 20 synthetic judge outputs (exact match, token F1, ROUGE-L, judge score per item; untimed,
cached in --work), then times in one process, after the imports: reading the runs' files alone
(the floor: json parsing), reading them into runs, the pairing and Holm step (19 runs x 4
measures, 10,000 bootstrap resamples per score comparison), and the whole `compare` writing
compare.json/.md/.html/.png with the item explorer. Prints wall and CPU seconds (on a shared,
loaded machine the CPU seconds are what an idle core would take) and the whole against the floor.

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

    start = time.perf_counter()
    import matplotlib.pyplot  # noqa: F401  (imports timed on their own: a loaded machine takes seconds here)
    import scipy.stats  # noqa: F401
    import statsmodels.stats.multitest  # noqa: F401

    from workshop.report.compare import compare, compare_runs, unique_names
    from workshop.report.runs import read_run
    imports = time.perf_counter() - start

    def timed(work):
        """(wall seconds, this process's CPU seconds) of `work()`: CPU time is what an idle core would need."""
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        return time.perf_counter() - wall, time.process_time() - cpu

    def parse_files():  # the floor: parse every file compare reads
        for p in paths:
            json.loads(Path(p, "summary.json").read_text())
            json.loads(Path(p).parent.joinpath("responses.json").read_text())
            [json.loads(line) for line in Path(p, "scores.jsonl").read_text().splitlines()]

    runs, result = [], {}
    floor = timed(parse_files)
    read = timed(lambda: runs.extend(read_run(p, n) for p, n in zip(paths, unique_names(paths))))
    stats = timed(lambda: result.update(compare_runs(runs, runs[0])))
    whole = timed(lambda: compare(paths, out=args.work / "out"))

    load = os.getloadavg()[0]
    print(f"{args.runs} runs x {args.items} items, {result['n_comparisons']} comparisons, load average {load:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"imports (scipy, statsmodels, matplotlib)   {imports:6.2f} s wall")
    for label, (wall, cpu) in (("parse the files alone (floor)", floor), ("read into runs", read),
                               ("pair + Holm (stats)", stats), ("workshop.compare with --out", whole)):
        print(f"{label:<42} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"compare with --out: {whole[0] / floor[0]:.1f}x the floor (wall), {whole[1]:.2f} s CPU; goal < 10 s")
    html = args.work / "out" / "compare.html"
    print(f"compare.html {html.stat().st_size / 1e6:.1f} MB, {len(result['rows'])} rows")


if __name__ == "__main__":
    main()
