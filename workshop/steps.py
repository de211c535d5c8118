"""The step kinds a pipeline recipe can chain (`uses:`), each a thin call into the Python API.

Every step takes keyword arguments (the recipe's `with:` mapping, checked against the
signature) plus `step_dir`, the folder its outputs go to, and returns a JSON-able dict of
outputs that later steps reference as `${step_name.output}`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable


def download(step_dir: Path, repo_id: str, checkpoint_dir: str | None = None) -> dict[str, Any]:
    """A checkpoint: built offline for `smollm2-135m-instruct`, else LitGPT's download."""
    from workshop.checkpoints import download as _download

    return {"checkpoint": str(_download(repo_id, Path(checkpoint_dir) if checkpoint_dir else None))}


def split(
    step_dir: Path, data: str, train: float = 0.85, test: float = 0.15, val: float = 0.0,
    seed: int | None = None, limit_test: int | None = None, sha256: str | None = None,
) -> dict[str, Any]:
    """Split an instruction file (path or URL, checked against `sha256`) into train/test(/val) JSON files."""
    from workshop.gpt.data import is_url, load_text
    from workshop.instructions import load_instructions, split as _split, write_splits
    from workshop.io import atomic_write_text
    from workshop.paths import project_path

    source = project_path(data)
    if is_url(data):
        source = atomic_write_text(step_dir / "source.json", load_text(data, sha256=sha256))
    parts = _split(load_instructions(source), train=train, test=test, val=val, seed=seed)
    if limit_test is not None:
        parts["test"] = parts["test"][:limit_test]
    paths = write_splits(parts, step_dir)
    return {**{name: str(p) for name, p in paths.items()}, **{f"n_{name}": len(rows) for name, rows in parts.items()}}


def respond(
    step_dir: Path, model: str, data: str, key: str, batch_size: int = 8,
    max_new_tokens: int = 128, temperature: float = 0.0, seed: int | None = None,
) -> dict[str, Any]:
    """Add `model`'s response under `key` to every entry of `data`, into this step's folder."""
    from workshop.respond import respond_file

    out = step_dir / "responses.json"
    if not out.exists():
        shutil.copyfile(data, out)
    respond_file(model, out, key, out=out, batch_size=batch_size, max_new_tokens=max_new_tokens,
                 temperature=temperature, seed=seed)
    return {"data": str(out), "key": key}


def finetune_lora(step_dir: Path, **recipe: Any) -> dict[str, Any]:
    """LitGPT's finetune_lora (merged into `final/`) from LitGPT keys; out_dir defaults to the step folder."""
    from workshop.recipes import run_job

    recipe.setdefault("out_dir", str(step_dir / "lora"))
    out_dir = run_job({"job": "finetune_lora", **recipe}, path=f"step finetune_lora")
    metrics = sorted(Path(out_dir).rglob("metrics.csv"))
    return {"checkpoint": str(Path(out_dir) / "final"), "out_dir": str(out_dir),
            "metrics": str(metrics[-1]) if metrics else None}


def judge(
    step_dir: Path, data: str, keys: list[str], judge: str = "meta-llama/Meta-Llama-3-8B-Instruct",
    mode: str = "auto", batch_size: int = 8, template: str | None = None,
) -> dict[str, Any]:
    """Score every response under `keys` with an LLM judge; summary.json and plots in the step folder."""
    from workshop.judge import score_file

    summary = score_file(data, keys, judge=judge, mode=mode, batch_size=batch_size, out_dir=step_dir,
                         template=template)
    return {"summary": str(step_dir / "summary.json"), "out_dir": str(step_dir), "mode": summary.get("mode")}


def mmlu(
    step_dir: Path, model: str | list[str], tasks: list[str], data_dir: str | None = None,
    num_fewshot: int = 0, limit: int | None = None, batch_size: int = 4,
) -> dict[str, Any]:
    """MMLU subjects through lm-eval for one or more checkpoints.

    `data_dir`: a local folder in the official CSV layout, None for the hub (online), or
    "auto" for a local folder when one is found and a skip note otherwise.
    """
    from workshop.evals.mmlu import evaluate

    if data_dir == "auto":  # a local folder if one is at hand, else skip (offline runs)
        data_dir = find_mmlu_data_dir()
        if data_dir is None:
            return {"skipped": "no local MMLU data found; pass --mmlu-data-dir DIR (official layout: test/<subject>_test.csv)"}
    models = [model] if isinstance(model, str) else list(model)
    results = {}
    for i, m in enumerate(models):
        out = step_dir / f"model{i}"
        evaluate(m, tasks, data_dir=data_dir, num_fewshot=num_fewshot, limit=limit, batch_size=batch_size, out_dir=out)
        results[m] = str(out / "results.json")
    return {"results": results}


def find_mmlu_data_dir() -> str | None:
    """A local MMLU folder in the official CSV layout: $WORKSHOP_MMLU_DATA_DIR, ./data/mmlu, or ../shared beside the project."""
    import os

    from workshop.paths import PROJECT_ROOT

    candidates = [os.environ.get("WORKSHOP_MMLU_DATA_DIR"), "data/mmlu", PROJECT_ROOT.parent / "shared" / "data" / "mmlu"]
    for c in candidates:
        if c and (Path(c) / "test").is_dir():
            return str(c)
    return None


def report(step_dir: Path) -> dict[str, Any]:
    """Render report.md/report.html and results.json for the run folder this step sits in."""
    from workshop.report import write_report

    paths = write_report(step_dir.parent)
    return {name: str(p) for name, p in paths.items()}


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "download": download,
    "split": split,
    "respond": respond,
    "finetune_lora": finetune_lora,
    "judge": judge,
    "mmlu": mmlu,
    "report": report,
}
