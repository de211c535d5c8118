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

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_json
from workshop.models.remote import is_url

BACKENDS = ("native", "hf")
HUB_URL = "https://huggingface.co"
DATA_DIR_HINT = ("offline, pass --data-dir auto (the local copy `workshop data mmlu` writes or install.sh installs), "
                 "or --data-dir DIR with the official MMLU layout test/<subject>_test.csv")


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
        from workshop.core.fetch import reachable

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
    from workshop.models.device import default_device, precision_to_dtype, resolve_precision
    from workshop.evals.hf_backend import convert_checkpoint, hf_lm

    torch_device = default_device() if device is None else torch.device(device)
    dtype = precision_to_dtype(resolve_precision("auto", torch_device))
    with tempfile.TemporaryDirectory(prefix="workshop-hf-") if out_dir is None else nullcontext(out_dir) as root:
        hf_dir = Path(root) / "hf-model"
        converted = convert_checkpoint(model_dir, hf_dir)
        lm = hf_lm(hf_dir, batch_size, torch_device, dtype)
    return lm, {"converted_bytes": converted, "load_s": time.perf_counter() - start}


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """`auto` -> a local MMLU folder in the official layout, else None (the hub) for None.

    `auto` looks at $WORKSHOP_MMLU_DATA_DIR, then ./data/mmlu, then the workshop cache's mmlu/
    copy, written (sha256-checked) from the PyPI package install.sh installs (`mmlu_data`).
    """
    from workshop.evals.mmlu_data import INSTALL_HINT, ensure_local

    if data_dir is None or str(data_dir) != "auto":
        return Path(data_dir) if data_dir is not None else None
    for candidate in (os.environ.get("WORKSHOP_MMLU_DATA_DIR"), "data/mmlu"):
        if candidate and (Path(candidate) / "test").is_dir():
            return Path(candidate)
    found = ensure_local()
    if found is None:
        raise WorkshopError("--data-dir auto: no local MMLU questions; install them with "
                            f"`{INSTALL_HINT}` (offline), or write them with `workshop data mmlu --source online`, "
                            "or pass --data-dir DIR (official layout: test/<subject>_test.csv)")
    return found


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
    served_model: str | None = None,
    tokenizer: str | None = None,
) -> dict | None:
    """Evaluate checkpoint `model_dir` on lm-eval `tasks`; returns lm-eval's results dict.

    `results["results"][task]["acc,none"]` is the accuracy; `results["workshop"]` adds the
    backend, wall time and bytes of any converted copy. With `out_dir`, writes results.json
    and results.md there (and the hf backend keeps its converted copy in `out_dir/hf-model`).
    `devices` x `num_nodes` > 1 splits the log-likelihood batches across ranks (native backend,
    `workshop.evals.sharded`), each rank resumable from its log in `out_dir/.cache`;
    nodes other than the first get None. A `model_dir` that is a URL (http://HOST:PORT/v1) is a
    served model, scored through lm-eval's own `local-completions` client (see `served`): its
    `served_model` id (default: the only one listed) and `tokenizer` (default: that id).
    """
    from lm_eval import simple_evaluate

    from workshop.evals.quiet import without_git_noise
    from workshop.evals.task_index import resolve_names, task_manager
    from workshop.models.checkpoints import resolve_checkpoint

    if backend not in BACKENDS:
        raise WorkshopError(f"--backend {backend!r} is not known; use one of: {', '.join(BACKENDS)}")
    if num_fewshot < 0 or batch_size < 1:
        raise WorkshopError("--num-fewshot must be >= 0 and --batch-size >= 1")
    served = is_url(model_dir)
    if served and (devices * num_nodes > 1 or backend != "native"):
        raise WorkshopError("--model URL is scored by the server through lm-eval's local-completions client; "
                            "drop --devices/--num-nodes and --backend hf")
    model_dir = model_dir if served else resolve_checkpoint(model_dir)
    data_dir = resolve_data_dir(data_dir)  # "auto" as on the CLI
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # lm-eval logs every config override as a warning
    manager = task_manager()
    tasks_arg = task_list(manager, resolve_names(parse_tasks(tasks)), data_dir, num_fewshot)
    sharded = devices * num_nodes > 1
    if sharded and backend != "native":
        raise WorkshopError("--devices > 1 runs the native backend only; drop --backend hf")
    if served:
        from workshop.evals.served import served_lm

        start = time.perf_counter()
        lm = served_lm(model_dir, served_model, tokenizer, batch_size, out_dir)
        backend, facts = "local-completions", {"converted_bytes": 0, "load_s": time.perf_counter() - start,
                                               "served_model": lm.model, "tokenizer": lm.tokenizer.name_or_path}
    else:
        lm, facts = (None, {"converted_bytes": 0, "load_s": 0.0}) if sharded else load_lm(
            model_dir, backend, batch_size, device, Path(out_dir) if out_dir is not None else None)
    start = time.perf_counter()
    try:
        with without_git_noise():  # lm-eval looks up a git commit; outside a repository git says `fatal: ...`
            if sharded:
                from workshop.evals.sharded import mmlu_rank
                from workshop.models.distributed import launch

                results = launch(mmlu_rank, model_dir, tasks_arg, manager, num_fewshot, limit, batch_size,
                                 rank_log(out_dir, model_dir), devices=devices, num_nodes=num_nodes, device=device)
            else:
                results = simple_evaluate(
                    model=lm, tasks=tasks_arg, num_fewshot=num_fewshot, limit=limit, batch_size=batch_size,
                    task_manager=manager, log_samples=True,  # per-question outcomes, for paired comparisons
                )
        if results is None:  # a node other than the first
            return None
    except (ConnectionError, OSError) as e:
        if data_dir is not None:
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WorkshopError(f"could not load the questions from the Hugging Face hub ({first}); {DATA_DIR_HINT}") from None
    from workshop.evals.mmlu_paired import per_question

    facts["eval_s"] = time.perf_counter() - start
    facts["questions"] = sum(n["effective"] for n in results.get("n-samples", {}).values())
    samples = results.pop("samples", None) or {}
    results["workshop"] = {"model": str(model_dir), "backend": backend, "data_dir": str(data_dir) if data_dir else None,
                           **facts, "per_question": per_question(samples)}
    if log_samples:
        results["samples"] = samples
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
    """lm-eval's own Markdown tables (tasks, then groups) under a line naming model and backend; tasks are
    named as `--tasks` and `--compare` name them (lm-eval's display aliases dropped, on a copy)."""
    from lm_eval.utils import make_table

    named = {**results, **{part: {task: {k: v for k, v in m.items() if k != "alias"} for task, m in results[part].items()}
                           for part in ("results", "groups") if results.get(part)}}
    info = results.get("workshop", {})
    head = f"# lm-eval results: {info.get('model', '?')} ({info.get('backend', '?')} backend)\n\n"
    text = head + make_table(named)
    if named.get("groups"):
        text += "\n" + make_table(named, "groups")
    return text


def saved_results(model: str) -> Path | None:
    """The results.json that `model` names (the file, or a folder holding one that is no checkpoint), else None."""
    path = Path(model)
    found = path if path.is_file() else path / "results.json"
    return found if found.is_file() and not (path / "lit_model.pth").is_file() else None


def compare_dir(out_dir: Path, index: int, model: str) -> Path:
    """Where `compare` keeps the results of its `index`-th model (a served one's named after host and port)."""
    if is_url(model):
        from urllib.parse import urlparse

        return out_dir / f"{index}-{urlparse(model).netloc.replace(':', '_')}"
    return out_dir / f"{index}-{Path(model).name}"


def compare(models: Sequence[str], out_dir: str | Path | None = None, labels: Sequence[str] | None = None,
            **kwargs: Any) -> dict[str, Any] | None:
    """Evaluate (or read) several models on the same tasks and pair the first with the last per question.

    Returns (and with `out_dir` writes as results.json, beside compare.md and one folder per
    model) `{"models": [label, ...], "sources": {label: model}, "accuracy": {label: {task: {acc,
    stderr, n}}}, "paired": `mmlu_paired.paired` or None, "note": why there is no paired block}`
    (None on the helper nodes of a multi-node run).
    """
    from workshop.evals.mmlu_paired import paired, task_counts

    if len(models) < 2:
        raise WorkshopError("--compare needs at least two checkpoints (or results.json files)")
    labels = list(labels) if labels else [str(m) for m in models]
    if len(labels) != len(models) or len(set(labels)) != len(labels):
        raise WorkshopError(f"--labels: give {len(models)} different names, one per model (got {len(labels)})")
    results, files = {}, {}
    for i, (label, model) in enumerate(zip(labels, models)):
        saved = saved_results(model)
        if saved is not None:
            results[label], files[label] = read_json(saved), str(saved)
            continue
        sub = compare_dir(Path(out_dir), i, model) if out_dir is not None else None
        results[label] = evaluate(model, out_dir=sub, **kwargs)
        if results[label] is None:  # a helper node of a multi-node run: rank 0 compares
            return None
        files[label] = str(sub / "results.json") if sub is not None else None
    summary: dict[str, Any] = {"models": labels, "sources": dict(zip(labels, map(str, models))), "files": files,
                               "accuracy": {label: task_counts(r) for label, r in results.items()},
                               "paired": None, "note": None}
    try:
        summary["paired"] = paired(results[labels[0]], results[labels[-1]], labels[0], labels[-1])
    except WorkshopError as e:
        summary["note"] = str(e)
    if out_dir is not None:
        atomic_write_json(Path(out_dir) / "results.json", summary)
        atomic_write_text(Path(out_dir) / "compare.md", compare_markdown(summary))
    return summary


def compare_markdown(summary: dict[str, Any]) -> str:
    """Models side by side (accuracy ± SE and questions per cell), then the paired block."""
    from workshop.evals.mmlu_paired import paired_markdown

    models, table = summary["models"], summary["accuracy"]
    tasks = list(dict.fromkeys(t for m in models for t in table[m]))

    def cell(m: str, task: str) -> str:
        r = table[m].get(task)
        if r is None:
            return "-"
        se = f" ± {r['stderr']:.4f}" if r.get("stderr") is not None else ""
        return f"{r['acc']:.4f}{se}" + (f" (n={r['n']})" if r.get("n") is not None else "")

    lines = ["| task | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    lines += [f"| {task} | " + " | ".join(cell(m, task) for m in models) + " |" for task in tasks]
    text = "\n".join(lines) + "\n"
    if summary.get("paired"):
        text += "\n" + paired_markdown(summary["paired"])
    elif summary.get("note"):
        text += f"\nNo paired comparison: {summary['note']}\n"
    return text
