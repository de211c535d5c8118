"""MMLU (and any lm-eval task) on a LitGPT checkpoint, with lm-eval's own task definitions.

`evaluate` runs `lm_eval.simple_evaluate` on the checkpoint in memory (`backend="native"`,
see `lm_adapter`) or on LitGPT's converted Hugging Face copy (`backend="hf"`). Questions
come from the hub, or with `data_dir` from the official MMLU CSVs (see `local_tasks`).
Results are lm-eval's own dict, written as `results.json` plus a Markdown `results.md`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Sequence

from workshop.errors import WorkshopError
from workshop.io import atomic_write_json, atomic_write_jsonl, atomic_write_text

BACKENDS = ("native", "hf")
HUB_URL = "https://huggingface.co"
DATA_DIR_HINT = "offline, pass --data-dir DIR with the official MMLU layout test/<subject>_test.csv"


def parse_tasks(tasks: str | Sequence[str]) -> list[str]:
    """`"a,b"` or `["a", "b"]` -> a non-empty list of names."""
    names = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t.strip()]
    if not names:
        raise WorkshopError("--tasks is empty; name at least one task, e.g. --tasks mmlu_philosophy")
    return names


def check_hub() -> None:
    """Without --data-dir the questions come from the hub: fail fast, in one line, when it is unreachable."""
    from workshop.evals.local_tasks import go_offline

    offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    proxied = any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"))
    if not offline and not proxied:
        from workshop.fetch import reachable

        offline = not reachable(HUB_URL)
    if offline:
        go_offline()  # a dataset already in the local HF cache still loads; anything else fails at once


def task_list(task_manager: Any, names: list[str], data_dir: str | Path | None, num_fewshot: int) -> list:
    """What `simple_evaluate(tasks=...)` gets: plain names (hub) or configs reading `data_dir`."""
    from workshop.evals.local_tasks import local_task_configs

    if data_dir is not None:
        return local_task_configs(task_manager, names, data_dir, num_fewshot)
    check_hub()
    return names


def load_lm(model_dir: Path, backend: str, batch_size: int, device: str | None, out_dir: Path | None) -> tuple[Any, dict]:
    """The lm-eval model for `backend`, plus facts for the report (bytes converted, seconds).

    The hf backend's converted copy stays in `out_dir/hf-model`; without `out_dir` it is
    deleted once HFLM has read it into memory.
    """
    import torch

    import workshop
    from workshop.evals.lm_adapter import LitGPTLM

    start = time.perf_counter()
    if backend == "native":
        lm = LitGPTLM(workshop.load(model_dir, device=device), batch_size=batch_size)
        return lm, {"converted_bytes": 0, "load_s": time.perf_counter() - start}
    from workshop.device import default_device, precision_to_dtype, resolve_precision
    from workshop.evals.hf_backend import convert_checkpoint, hf_lm

    torch_device = default_device() if device is None else torch.device(device)
    dtype = precision_to_dtype(resolve_precision("auto", torch_device))
    with tempfile.TemporaryDirectory(prefix="workshop-hf-") if out_dir is None else nullcontext(out_dir) as root:
        hf_dir = Path(root) / "hf-model"
        converted = convert_checkpoint(model_dir, hf_dir)
        lm = hf_lm(hf_dir, batch_size, torch_device, dtype)
    return lm, {"converted_bytes": converted, "load_s": time.perf_counter() - start}


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """`auto` -> a local folder in the official layout ($WORKSHOP_MMLU_DATA_DIR or ./data/mmlu), else None (hub)."""
    import os

    if data_dir is None or str(data_dir) != "auto":
        return Path(data_dir) if data_dir is not None else None
    for candidate in (os.environ.get("WORKSHOP_MMLU_DATA_DIR"), "data/mmlu"):
        if candidate and (Path(candidate) / "test").is_dir():
            return Path(candidate)
    raise WorkshopError("--data-dir auto: no local MMLU folder found; set $WORKSHOP_MMLU_DATA_DIR or pass --data-dir DIR "
                        "(official layout: test/<subject>_test.csv)")


def evaluate(
    model_dir: str | Path,
    tasks: str | Sequence[str] = "mmlu",
    data_dir: str | Path | None = None,
    num_fewshot: int = 0,
    limit: int | float | None = None,
    batch_size: int = 4,
    backend: str = "native",
    out_dir: str | Path | None = None,
    device: str | None = None,
    log_samples: bool = False,
    devices: int = 1,
    num_nodes: int = 1,
) -> dict | None:
    """Evaluate checkpoint `model_dir` on lm-eval `tasks`; returns lm-eval's results dict.

    `results["results"][task]["acc,none"]` is the accuracy; `results["workshop"]` adds the
    backend, wall time and bytes of any converted copy. With `out_dir`, writes results.json
    and results.md there (and the hf backend keeps its converted copy in `out_dir/hf-model`).
    `devices` x `num_nodes` > 1 splits the log-likelihood batches across ranks (native backend,
    `workshop.distributed.sharded_lm`), each rank resumable from its log in `out_dir/.cache`;
    nodes other than the first get None.
    """
    from lm_eval import simple_evaluate

    from workshop.checkpoints import resolve_checkpoint
    from workshop.evals.task_index import resolve_names, task_manager

    if backend not in BACKENDS:
        raise WorkshopError(f"--backend {backend!r} is not known; use one of: {', '.join(BACKENDS)}")
    if num_fewshot < 0 or batch_size < 1:
        raise WorkshopError("--num-fewshot must be >= 0 and --batch-size >= 1")
    model_dir = resolve_checkpoint(model_dir)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # lm-eval logs every config override as a warning
    manager = task_manager()
    tasks_arg = task_list(manager, resolve_names(parse_tasks(tasks)), data_dir, num_fewshot)
    sharded = devices * num_nodes > 1
    if sharded and backend != "native":
        raise WorkshopError("--devices > 1 runs the native backend only; drop --backend hf")
    lm, facts = (None, {"converted_bytes": 0, "load_s": 0.0}) if sharded else load_lm(
        model_dir, backend, batch_size, device, Path(out_dir) if out_dir is not None else None)
    start = time.perf_counter()
    try:
        if sharded:
            from workshop.distributed import launch, mmlu_rank

            results = launch(mmlu_rank, model_dir, tasks_arg, manager, num_fewshot, limit, batch_size, log_samples,
                             rank_log(out_dir, model_dir), devices=devices, num_nodes=num_nodes, device=device)
            if results is None:  # a node other than the first
                return None
        else:
            results = simple_evaluate(
                model=lm, tasks=tasks_arg, num_fewshot=num_fewshot, limit=limit, batch_size=batch_size,
                task_manager=manager, log_samples=log_samples,
            )
    except (ConnectionError, OSError) as e:
        if data_dir is not None:
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WorkshopError(f"could not load the questions from the Hugging Face hub ({first}); {DATA_DIR_HINT}") from None
    facts["eval_s"] = time.perf_counter() - start
    facts["questions"] = sum(n["effective"] for n in results.get("n-samples", {}).values())
    results["workshop"] = {"model": str(model_dir), "backend": backend, "data_dir": str(data_dir) if data_dir else None, **facts}
    if out_dir is not None:
        write_results(results, Path(out_dir))
    return results


def rank_log(out_dir: str | Path | None, model_dir: Path) -> Path | None:
    """Where `--devices` ranks keep their finished log-likelihoods, named after the checkpoint's weights."""
    if out_dir is None:
        return None
    import hashlib

    weights = Path(model_dir) / "lit_model.pth"
    stat = weights.stat()
    digest = hashlib.sha256(f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return Path(out_dir) / ".cache" / f"loglikelihood-{digest}.jsonl"


def write_results(results: dict, out_dir: Path) -> None:
    """results.json (lm-eval's dict, samples apart), results.md, and samples_<task>.jsonl if logged."""
    from lm_eval.utils import handle_non_serializable

    samples = results.pop("samples", None) or {}
    plain = json.loads(json.dumps(results, default=handle_non_serializable))
    atomic_write_json(out_dir / "results.json", plain)
    atomic_write_text(out_dir / "results.md", results_markdown(results))
    for task, rows in samples.items():
        atomic_write_jsonl(out_dir / f"samples_{task}.jsonl", json.loads(json.dumps(rows, default=handle_non_serializable)))


def results_markdown(results: dict) -> str:
    """lm-eval's own Markdown tables (tasks, then groups), under a line naming model and backend."""
    from lm_eval.utils import make_table

    info = results.get("workshop", {})
    head = f"# lm-eval results: {info.get('model', '?')} ({info.get('backend', '?')} backend)\n\n"
    text = head + make_table(results)
    if results.get("groups"):
        text += "\n" + make_table(results, "groups")
    return text


def accuracies(results: dict) -> dict[str, float]:
    """{task or group (as lm-eval lists them): acc} from a results dict."""
    return {name: m["acc,none"] for name, m in results["results"].items() if "acc,none" in m}


def compare_markdown(results_by_model: dict[str, dict]) -> str:
    """Models side by side: one row per task/subject, one accuracy column per model."""
    models = list(results_by_model)
    table = {model: accuracies(r) for model, r in results_by_model.items()}
    tasks = list(dict.fromkeys(t for model in models for t in table[model]))
    lines = ["| task | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for task in tasks:
        cells = [f"{table[m][task]:.4f}" if task in table[m] else "-" for m in models]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def load_or_evaluate(model: str, out_dir: Path | None, **kwargs: Any) -> dict:
    """Results for `model`: a results.json (or a folder holding one) is read, a checkpoint is evaluated."""
    path = Path(model)
    found = path if path.is_file() else path / "results.json"
    if found.is_file() and not (path / "lit_model.pth").is_file():
        return json.loads(found.read_text(encoding="utf-8"))
    return evaluate(model, out_dir=out_dir, **kwargs)


def compare_dir(out_dir: Path, index: int, model: str) -> Path:
    """Where `compare` keeps the results of its `index`-th model."""
    return out_dir / f"{index}-{Path(model).name}"


def compare(models: Sequence[str], out_dir: str | Path | None = None, **kwargs: Any) -> dict[str, dict] | None:
    """Evaluate (or read) several models on the same tasks; writes compare.md to `out_dir`."""
    if len(models) < 2:
        raise WorkshopError("--compare needs at least two checkpoints (or results.json files)")
    results = {}
    for i, model in enumerate(models):
        sub = compare_dir(Path(out_dir), i, model) if out_dir is not None else None
        results[model] = load_or_evaluate(model, sub, **kwargs)
        if results[model] is None:  # a helper node of a multi-node run: rank 0 compares
            return None
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / "compare.md", compare_markdown(results))
    return results
