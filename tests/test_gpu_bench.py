"""bench/gpu.py --smoke: the GPU script's code paths on tiny models of the same architectures, so a change that
breaks the GPU day fails here first."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = {"pretrain", "judge", "respond", "qlora_memory", "qlora_step", "mmlu"}


def test_gpu_script_smoke_writes_every_figure(tmp_path):
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--smoke", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True and report["device"].startswith("CPU")
    assert set(report["figures"]) == FIGURES
    for name, row in report["figures"].items():
        assert row["status"] == "ok", (name, row)
        for key in ("value", "baseline", "ratio"):
            assert isinstance(row[key], float) and math.isfinite(row[key]) and row[key] > 0, (name, key, row[key])
        expected = row["baseline"] / row["value"] if name.startswith("qlora") else row["value"] / row["baseline"]
        assert math.isclose(row["ratio"], expected, rel_tol=1e-9), name
        assert row["baseline_is"] and row["goal"] and row["weights"].startswith("random")
        assert f"{name:<14}" in proc.stdout  # the printed table has a row per figure
    assert report["figures"]["judge"]["details"]["n"] == 8  # the smoke sizes, not the GPU's
    assert "Llama-3-8B-Instruct" in report["figures"]["respond"]["weights"]
