"""The workshop's own figures in the tracker LitGPT logged the finetune to (`logger_name`: csv, tensorboard, mlflow, wandb).

LitGPT sends the training curve to the logger a recipe names; the judge's means and CIs, the
reference metrics, MMLU, classification and the verdict stay in the run folder. After the report
is written, `log_to_tracker` puts them in the same tracker run: TensorBoard's version folder of the
finetune (scalars and text, the report copied beside), the MLflow run LitGPT started (metrics, the
verdict as a tag and text, report.html/.md and results.json as artifacts), the CSV logger's version
folder (workshop.csv) or the W&B run (summary and files). Every figure is also at the last step.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path
from typing import Any

from workshop.core.io import read_json

PREFIX = "workshop"


def _add(out: dict[str, float], name: str, value: Any) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        out[f"{PREFIX}/{name}"] = float(value)


def figures(results: dict[str, Any]) -> dict[str, float]:
    """Every number of results.json a tracker should hold, by a path-like name (`workshop/judge/<key>/mean`)."""
    out: dict[str, float] = {}
    judge = results.get("judge") or {}
    for key, stats in (judge.get("keys") or {}).items():
        for stat in ("mean", "median", "std", "n_scored"):
            _add(out, f"judge/{key}/{stat}", stats.get(stat))
        for end, value in zip(("ci_low", "ci_high"), stats.get("ci95") or ()):
            _add(out, f"judge/{key}/{end}", value)
        for metric, value in (stats.get("reference") or {}).items():
            _add(out, f"reference/{key}/{metric}", value)
    paired = judge.get("paired") or {}
    for stat in ("mean_diff", "wilcoxon_p", "wins", "ties", "losses"):
        _add(out, f"judge/paired/{stat}", paired.get(stat))
    reference = paired.get("reference") or {}
    _add(out, "reference/paired/exact_match_mcnemar_p", (reference.get("exact_match") or {}).get("mcnemar_p"))
    _add(out, "reference/paired/rouge_l_wilcoxon_p", (reference.get("rouge_l") or {}).get("wilcoxon_p"))
    mmlu = results.get("mmlu") or {}
    for model, tasks in (mmlu.get("accuracy") or {}).items():
        for task, acc in tasks.items():
            _add(out, f"mmlu/{model}/{task}/acc", acc.get("acc"))
            _add(out, f"mmlu/{model}/{task}/stderr", acc.get("stderr"))
    mp = mmlu.get("paired") or {}
    for side in ("a", "b"):
        if mp:
            _add(out, f"mmlu/{mp[side]}/acc", mp.get(f"acc_{side}"))
            _add(out, f"mmlu/{mp[side]}/stderr", mp.get(f"stderr_{side}"))
    _add(out, "mmlu/paired/mcnemar_p", mp.get("mcnemar_p"))
    classify = results.get("classify") or {}
    for side in ("before", "after"):
        for stat in ("accuracy", "mcc"):
            _add(out, f"classify/{side}/{stat}", (classify.get(side) or {}).get(stat))
    _add(out, "classify/paired/mcnemar_p", (classify.get("paired") or {}).get("mcnemar_p"))
    _add(out, "finetune/final_val_loss", (results.get("finetune") or {}).get("final_val_loss"))
    return out


def finetune_logger(run_dir: Path) -> tuple[str, Path, str] | None:
    """(logger_name, the finetune's out_dir, LitGPT's run name) of the pipeline's finetune step, None without one."""
    log = read_json(run_dir / "pipeline.json")
    for step in log.get("steps", {}).values():
        args = step.get("with") or {}
        if step.get("uses") == "finetune_lora" and args.get("logger_name") and step.get("outputs"):
            out_dir = Path(step["outputs"].get("out_dir") or run_dir / "finetune" / "lora")
            return args["logger_name"], out_dir, f"finetune-{Path(str(args.get('checkpoint_dir', ''))).name}"
    return None


def latest_version(root: Path) -> Path:
    """LitGPT's (Lightning's) newest `version_N` folder under `root` (version_0 when there is none yet)."""
    versions = sorted(root.glob("version_*"), key=lambda p: int(p.name.split("_")[-1]) if p.name[8:].isdigit() else -1)
    return versions[-1] if versions else root / "version_0"


def to_tensorboard(values: dict[str, float], texts: dict[str, str], out_dir: Path, step: int, report: Path) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    folder = latest_version(out_dir / "logs" / "tensorboard")
    with SummaryWriter(log_dir=str(folder)) as writer:
        for name, value in values.items():
            writer.add_scalar(name, value, global_step=step)
        for name, text in texts.items():
            writer.add_text(f"{PREFIX}/{name}", text, global_step=step)
    shutil.copy(report, folder / report.name)
    return folder


def to_mlflow(values: dict[str, float], texts: dict[str, str], experiment: str, step: int, files: list[Path]) -> str:
    """Log into the newest run of LitGPT's experiment (`finetune-<model>`), or a new run there; returns the run id."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"file:{Path('mlruns').resolve()}"  # LitGPT's default store
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    exp_id = found.experiment_id if found else client.create_experiment(experiment)
    runs = client.search_runs([exp_id], order_by=["attributes.start_time DESC"], max_results=1)
    run_id = runs[0].info.run_id if runs else client.create_run(exp_id, run_name="workshop").info.run_id
    metrics = [mlflow.entities.Metric(k, v, 0, step) for k, v in values.items()]
    for start in range(0, len(metrics), 500):
        client.log_batch(run_id, metrics=metrics[start : start + 500])
    client.set_tag(run_id, f"{PREFIX}.verdict", texts["verdict"][:5000])
    for name, text in texts.items():
        client.log_text(run_id, text, f"{PREFIX}/{name}.txt")
    for path in files:
        client.log_artifact(run_id, str(path), PREFIX)
    return run_id


def to_csv(values: dict[str, float], texts: dict[str, str], out_dir: Path, report: Path) -> Path:
    folder = latest_version(out_dir / "logs" / "csv")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "workshop.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "value"])
        writer.writerows(sorted(values.items()))
    (folder / "workshop-verdict.txt").write_text(texts["verdict"] + "\n", encoding="utf-8")
    shutil.copy(report, folder / report.name)
    return folder / "workshop.csv"


def to_wandb(values: dict[str, float], texts: dict[str, str], project: str, files: list[Path]) -> str:
    """The run LitGPT's WandbLogger left in ./wandb/latest-run, resumed, gets the figures as its summary."""
    import wandb

    latest = Path("wandb/latest-run").resolve()
    run = wandb.init(project=project, id=latest.name.split("-")[-1] if latest.is_dir() else None, resume="allow")
    run.summary.update({**values, f"{PREFIX}/verdict": texts["verdict"]})
    for path in files:
        run.save(str(path), base_path=str(path.parent), policy="now")
    run.finish()
    return run.id


def log_to_tracker(results: dict[str, Any], run_dir: Path) -> dict[str, str]:
    """Send the report's figures, verdict and files to the finetune's tracker; {tracker: where} ({} without one)."""
    found = finetune_logger(run_dir)
    if found is None:
        return {}
    logger, out_dir, name = found
    values = figures(results)
    verdict = results.get("verdict") or {}
    texts = {"verdict": verdict.get("headline", ""), "how_sure": "\n".join(verdict.get("how_sure") or [])}
    step = int(((results.get("finetune") or {}).get("series", {}).get("train_loss") or {}).get("last_step", 0))
    report = run_dir / "report.html"
    files = [p for p in (report, run_dir / "report.md", run_dir / "results.json") if p.is_file()]
    if logger == "tensorboard":
        return {"tensorboard": str(to_tensorboard(values, texts, out_dir, step, report))}
    if logger == "mlflow":
        return {"mlflow": to_mlflow(values, texts, name, step, files)}
    if logger == "wandb":
        return {"wandb": to_wandb(values, texts, name, files)}
    if logger == "csv":
        return {"csv": str(to_csv(values, texts, out_dir, report))}
    return {}
