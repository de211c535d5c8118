"""Benchmark: a LoRA finetune killed with SIGKILL and resumed vs the same finetune uninterrupted.

Runs `workshop run recipes/finetune/smollm2-135m-lora.yaml` (offline SmolLM2-135M-Instruct) three
times in one go, each in its own process: uninterrupted; killed with SIGKILL from outside once
train.log shows step `--kill-after`; the same command again (it resumes from the last
`save_interval` state). Prints the largest difference between the two runs' final LoRA weights
and the wall time the resumed run took against starting over (the uninterrupted run's time).

    python bench/finetune_resume.py --steps 20 --save-interval 10 --kill-after 15
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from workshop.core.paths import RECIPES_DIR

RECIPE = RECIPES_DIR / "finetune" / "smollm2-135m-lora.yaml"


def command(out_dir: Path, steps: int, save_interval: int) -> list[str]:
    """`workshop run` of the shipped SmolLM2 recipe, shortened to `steps`, into `out_dir`."""
    return [sys.executable, "-m", "workshop.cli.main", "run", str(RECIPE), "--set", f"out_dir={out_dir}",
            "--set", f"train.max_steps={steps}", "--set", f"train.save_interval={save_interval}"]


def timed_run(cmd: list[str], cwd: Path) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def killed_run(cmd: list[str], cwd: Path, log: Path, kill_after: int) -> float:
    """Start the run, SIGKILL it once train.log reports step `kill_after`; seconds until the kill."""
    began = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pattern = re.compile(rf"\bstep {kill_after}\b")
    while process.poll() is None:
        if log.is_file() and pattern.search(log.read_text(errors="replace")):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return time.perf_counter() - began
        time.sleep(0.2)
    raise SystemExit(f"the run ended (exit {process.returncode}) before step {kill_after}; raise --steps")


def lora_weights(out_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(out_dir / "final" / "lit_model.pth.lora", weights_only=True)["model"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--save-interval", type=int, default=10)
    parser.add_argument("--kill-after", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    subprocess.run([sys.executable, "-m", "workshop.cli.main", "download", "smollm2-135m-instruct"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)

    whole, broken = work / "whole", work / "broken"
    whole_s = timed_run(command(whole, args.steps, args.save_interval), work)
    killed_s = killed_run(command(broken, args.steps, args.save_interval), work, broken / "train.log", args.kill_after)
    resumed_s = timed_run(command(broken, args.steps, args.save_interval), work)

    a, b = lora_weights(whole), lora_weights(broken)
    assert set(a) == set(b)
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    resumed_at = args.kill_after // args.save_interval * args.save_interval
    print(f"SmolLM2-135M LoRA, {args.steps} steps, save_interval {args.save_interval}, SIGKILL after step "
          f"{args.kill_after} (resumes at step {resumed_at})")
    print(f"uninterrupted {whole_s:.1f} s | killed after {killed_s:.1f} s | resumed run {resumed_s:.1f} s "
          f"= {resumed_s / whole_s:.2f}x of starting over ({whole_s - resumed_s:.1f} s saved)")
    print(f"final LoRA weights, resumed vs uninterrupted: max |diff| = {diff:.3g} over {len(a)} tensors")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
