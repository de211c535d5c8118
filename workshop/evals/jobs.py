"""The `workshop eval` jobs that are not one library function (MMLU for one model or several, the
task list), and what the eval jobs print for people.

(`eval classify` and `eval perplexity` are `workshop.evals.classify.classify` and
`workshop.evals.perplexity.perplexity` themselves.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Literal

from workshop.core.errors import WorkshopError
from workshop.core.stats import p_is
from workshop.core.types import NonNegativeInt, OpenUnitInterval, OutputDir, PositiveInt


def mmlu(
    models: list[str],
    tasks: list[str] = ["mmlu"],  # noqa: B006  (jsonargparse reads the default; never mutated)
    data_dir: str | None = None,
    num_fewshot: NonNegativeInt = 0,
    limit: PositiveInt | OpenUnitInterval | None = None,
    batch_size: PositiveInt = 4,
    backend: Literal["native", "hf"] = "native",
    device: str | None = None,
    log_samples: bool = False,
    out: OutputDir | None = None,
    labels: list[str] | None = None,
    devices: PositiveInt = 1,
    num_nodes: PositiveInt = 1,
    served_model: str | None = None,
    tokenizer: str | None = None,
) -> dict[str, Any] | None:
    """Run lm-eval's own task definitions (MMLU) on LitGPT checkpoints, without a converted copy, or on served models.

    One model prints lm-eval's table; two or more (`--compare A B`) are put side by side
    (accuracy ± standard error and questions per cell), and the first and last are paired
    question by question: both right / only A / only B / both wrong and McNemar's exact p.
    `data_dir` holds the official MMLU layout test/<subject>_test.csv (question,A,B,C,D,answer;
    no header), optional dev/<subject>_dev.csv for few-shot; without it the questions come
    from the hub (cais/mmlu); "auto" finds a local copy (the one `workshop data mmlu` writes,
    or the PyPI package install.sh installs). A model given as http://HOST:PORT/v1 is served
    (`workshop serve`, vLLM): lm-eval's own local-completions client scores it through the
    server's /v1/completions (token ids, echo, logprobs), with the API key from
    $WORKSHOP_API_KEY or $OPENAI_API_KEY.

    Args:
        models: checkpoint(s) (directory, repo id, smollm2-135m-instruct), served models (http://HOST:PORT/v1) or results.json files; --model X or --compare A B
        tasks: lm-eval tasks or groups, comma-separated or repeated; globs allowed
        data_dir: official MMLU CSV folder (offline), or auto
        num_fewshot: few-shot examples per question (needs dev/ offline)
        limit: only the first N questions per task (or a share below 1)
        batch_size: sequences per forward pass
        backend: native = the LitGPT model in memory; hf = LitGPT's convert + HFLM path, for comparison
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        log_samples: also write samples_<task>.jsonl (per-question scores)
        out: folder for results.json and results.md (with --compare: also compare.md and one folder per model)
        labels: column names for the compared models (default: as given), e.g. --labels '[base, finetuned]'
        devices: processes (GPUs, or CPU processes) that split the questions, through Lightning Fabric (native backend)
        num_nodes: machines, each running the same command with --devices processes
        served_model: a served model's id (default: the only one the server's /v1/models lists)
        tokenizer: a served model's tokenizer: folder with tokenizer.json, checkpoint name or hub id (default: the served id)
    """
    from workshop.evals import mmlu as lm_mmlu

    kwargs = dict(tasks=[t for item in tasks for t in item.split(",") if t], data_dir=data_dir,
                  num_fewshot=num_fewshot, limit=limit, batch_size=batch_size, backend=backend, device=device,
                  log_samples=log_samples, devices=devices, num_nodes=num_nodes, served_model=served_model,
                  tokenizer=tokenizer)
    if len(models) > 1:
        return lm_mmlu.compare(models, out_dir=out, labels=labels, **kwargs)
    return lm_mmlu.evaluate(models[0], out_dir=out, **kwargs)


def show_mmlu(results: dict[str, Any] | None, out: Path | None = None, **_: Any) -> None:
    """One model: lm-eval's table and the time taken; several: the side-by-side table and the paired block.
    Either way, where the files went (nothing on the helper nodes of a multi-node run: rank 0 reports)."""
    from workshop.evals import mmlu as lm_mmlu

    if results is None:
        return
    if "models" in results:  # a --compare summary
        print(lm_mmlu.compare_markdown(results), end="")
        if out:
            print(f"wrote {out / 'results.json'} (accuracies and the paired block), {out / 'compare.md'}; per model: "
                  + ", ".join(f for f in results["files"].values() if f))
        return
    print(lm_mmlu.results_markdown(results))
    info = results["workshop"]
    print(f"{info['questions']} questions in {info['eval_s']:.1f} s ({info['backend']} backend, "
          f"{info['converted_bytes']:,} bytes of converted weights written)")
    if out:
        print(f"wrote {out / 'results.json'} and {out / 'results.md'}")


def list_tasks(pattern: str | None = None, data_dir: str | None = None) -> None:
    """List lm-eval's tasks, groups and tags whose names start with PATTERN (offline), marking what --data-dir serves.

    "offline" marks the tasks and groups that read MMLU (cais/mmlu), which `--data-dir` serves
    from the official CSVs; the rest load their questions from the hub when run. With
    `--data-dir DIR` (or auto) a task is marked only when its subject's CSV is there too.

    Args:
        pattern: name prefix (mmlu_) or glob (*philosophy*); empty lists everything
        data_dir: also check that this MMLU folder (or auto) holds each offline task's CSV
    """
    from workshop.evals.local_tasks import SERVED_DATASETS
    from workshop.evals.task_index import list_tasks as matching, served_offline

    rows = matching(pattern)
    if not rows:
        raise WorkshopError(f"no task name starts with {pattern!r}; try a shorter prefix, e.g. `workshop eval list mmlu`")
    offline = served_offline([name for name, _ in rows], SERVED_DATASETS)
    if data_dir is not None:
        from workshop.evals import mmlu as lm_mmlu
        from workshop.evals.task_index import task_manager

        folder, manager = lm_mmlu.resolve_data_dir(data_dir), task_manager()
        offline = {n for n in offline if has_local_csvs(manager, n, folder)}
    try:
        sys.stdout.write("".join(f"{kind:<11} {'offline' if name in offline else '':<8} {name}\n" for name, kind in rows))
        where = f" with --data-dir {data_dir}" if data_dir else " with --data-dir (official MMLU CSVs)"
        sys.stdout.write(f"{len(rows)} names; {len(offline)} marked offline run{where}; the others load from the hub\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `workshop eval list | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def has_local_csvs(manager: Any, name: str, folder: Path) -> bool:
    """True when every MMLU subject task or group `name` needs has a readable test CSV in `folder`."""
    from workshop.evals.local_tasks import local_task_configs

    try:
        local_task_configs(manager, [name], folder, 0)
    except WorkshopError:
        return False
    return True


def show_classify(r: dict[str, Any], **_: Any) -> None:
    """Accuracy, MCC and the confusion matrix."""
    from workshop.evals.metrics import format_matrix

    print(f"{r['n']} sentences, {r['shots']} shots, prompt {r['prompt']!r}")
    print(f"accuracy {r['accuracy']:.4f}  MCC {r['mcc']:.4f}\n")
    print(format_matrix(r["confusion_matrix"], r["labels"]))
    paired = r.get("paired")
    if paired:
        print(f"\nvs {paired['baseline']}: MCC {paired['mcc_baseline']:.4f} -> {r['mcc']:.4f}, accuracy "
              f"{paired['accuracy_baseline']:.4f} -> {r['accuracy']:.4f}; on {paired['n']} paired sentences "
              f"{paired['only_a']} were right only before, {paired['only_b']} only now: McNemar p {p_is(paired['mcnemar_p'])}")


def show_perplexity(r: dict[str, Any], out_dir: Path | None = None, **_: Any) -> None:
    """Mean token loss and perplexity, with the spread over texts (the per-text values are in perplexity.json)."""
    import statistics

    losses = [t["loss"] for t in r["per_text"]]
    spread = f"; per-text loss from {min(losses):.3f} to {max(losses):.3f}" if len(losses) > 1 else ""
    print(f"model       {r['model']}\ndata        {r['data']} ({r['texts']} texts, {r['tokens']:,} tokens)")
    print(f"loss        {r['loss']:.4f} (mean per token{spread}"
          + (f", median {statistics.median(losses):.3f})" if len(losses) > 1 else ")"))
    print(f"perplexity  {r['perplexity']:.2f}")
    if out_dir is not None:
        print(f"wrote {Path(out_dir) / 'perplexity.json'}")
