"""Benchmark: offline SmolLM2 checkpoint build (`workshop download smollm2-135m-instruct`).

Times, in one run and in fresh subprocesses (imports included, as a user meets them):
our whole build (GGUF read -> dequantise -> un-permute -> lit_model.pth + tokenizer files)
against the baseline route of only loading the same GGUF with transformers 4.56
(`AutoModelForCausalLM.from_pretrained(..., gguf_file=...)` + its GGUF tokenizer), which
the transformers route would still have to convert and save afterwards.

    python bench/checkpoints_build.py --repeats 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

OURS = "from workshop.models.checkpoints import build_smollm2; import sys; build_smollm2(sys.argv[1], force=True)"
BASELINE = """
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from workshop.models.checkpoints import SMOLLM2_GGUF, smollm2_gguf_path
folder = smollm2_gguf_path().parent
AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
"""


def timed(code: str, *args: str) -> float:
    """Wall seconds of `python -c code args` in a fresh interpreter."""
    start = time.perf_counter()
    env = {**os.environ, "USE_TF": "0"}
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Run both routes `--repeats` times, alternating, and print the best times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="runs per route; the best is reported")
    args = parser.parse_args()
    ours, baseline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            ours.append(timed(OURS, os.path.join(tmp, "SmolLM2-135M-Instruct")))
            baseline.append(timed(BASELINE))
    print(f"workshop build (complete checkpoint): best {min(ours):.1f} s  runs {[round(t, 1) for t in ours]}")
    print(f"transformers GGUF load only (baseline): best {min(baseline):.1f} s  runs {[round(t, 1) for t in baseline]}")
    print(f"speed-up vs baseline: {min(baseline) / min(ours):.2f}x  (target: build < 120 s on 2 CPU cores)")


if __name__ == "__main__":
    main()
