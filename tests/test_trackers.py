"""The report's figures reach the tracker run LitGPT's logger made, read back with the tracker's own reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from workshop.core.io import atomic_write_json, read_json
from workshop.report import write_report
from workshop.report.testing import instruction_items, judged_pipeline

MODEL = "checkpoints/HuggingFaceTB/SmolLM2-135M-Instruct"
EXPERIMENT = "finetune-SmolLM2-135M-Instruct"  # LitGPT's name: finetune-<config.name>


def run_with_logger(root: Path, logger_name: str) -> tuple[Path, Path]:
    """A judged pipeline folder whose finetune step names `logger_name`; returns (run folder, finetune out_dir)."""
    run = judged_pipeline(root / "run", instruction_items(40), {"response_before": 0.3, "response_after": 0.6}, seed=3)
    log = read_json(run / "pipeline.json")
    finetune = run / "finetune" / "lora"
    log["steps"]["finetune"] = {"uses": "finetune_lora", "with": {"checkpoint_dir": MODEL, "logger_name": logger_name},
                                "outputs": {"checkpoint": str(finetune / "final"), "out_dir": str(finetune), "metrics": None}}
    atomic_write_json(run / "pipeline.json", log)
    return run, finetune


def expected(results: dict) -> dict[str, float]:
    """Figures read straight from results.json, by the names the tracker gets."""
    judge, keys = results["judge"], results["judge"]["keys"]
    return {
        "workshop/judge/response_after/mean": keys["response_after"]["mean"],
        "workshop/judge/response_before/ci_low": keys["response_before"]["ci95"][0],
        "workshop/reference/response_after/exact_match": keys["response_after"]["reference"]["exact_match"],
        "workshop/reference/response_before/rouge_l": keys["response_before"]["reference"]["rouge_l"],
        "workshop/judge/paired/mean_diff": judge["paired"]["mean_diff"],
        "workshop/judge/paired/wins": judge["paired"]["wins"],
        "workshop/reference/paired/exact_match_mcnemar_p": judge["paired"]["reference"]["exact_match"]["mcnemar_p"],
    }


def test_tensorboard_same_run_read_back(tmp_path):
    from litgpt.utils import choose_logger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, finetune = run_with_logger(tmp_path, "tensorboard")
    litgpt_logger = choose_logger("tensorboard", finetune, name=EXPERIMENT)  # the finetune's own logger
    litgpt_logger.log_metrics({"train_loss": 1.25}, step=4)
    litgpt_logger.finalize("success")
    written = write_report(run)
    folder = Path(written["tracker tensorboard"])
    assert folder == finetune / "logs" / "tensorboard" / "version_0"  # the finetune's own run, not a new one
    results = read_json(run / "results.json")
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert "train_loss" in scalars
    for name, value in expected(results).items():
        assert events.Scalars(name)[-1].value == pytest.approx(value, rel=1e-6), name
    text = events.Tensors("workshop/verdict/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert text == results["verdict"]["headline"]
    assert (folder / "report.html").read_text() == (run / "report.html").read_text()


def test_mlflow_same_run_read_back(tmp_path, monkeypatch):
    import mlflow
    from litgpt.utils import choose_logger

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a local store, no server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run, _ = run_with_logger(tmp_path, "mlflow")
    litgpt_logger = choose_logger("mlflow", tmp_path, name=EXPERIMENT, tracking_uri=uri,  # the finetune's own logger
                                  artifact_location=str(tmp_path / "artifacts"))  # (default: ./mlruns in the cwd)
    litgpt_logger.log_metrics({"train_loss": 1.25}, step=4)
    litgpt_logger.finalize("success")
    written = write_report(run)
    mlflow.set_tracking_uri(uri)
    table = mlflow.search_runs(experiment_names=[EXPERIMENT])
    assert len(table) == 1 and table["run_id"][0] == written["tracker mlflow"] == litgpt_logger.run_id
    row = table.iloc[0]
    results = read_json(run / "results.json")
    assert row["metrics.train_loss"] == 1.25
    for name, value in expected(results).items():
        assert row[f"metrics.{name}"] == pytest.approx(value, rel=1e-9), name
    assert row["tags.workshop.verdict"] == results["verdict"]["headline"]
    artifacts = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(row["run_id"], "workshop")}
    assert {"workshop/report.html", "workshop/results.json", "workshop/verdict.txt"} <= artifacts


def test_csv_logger_gets_a_table(tmp_path):
    import csv

    run, finetune = run_with_logger(tmp_path, "csv")
    written = write_report(run)
    results = read_json(run / "results.json")
    with open(written["tracker csv"], newline="") as f:
        table = {row["name"]: float(row["value"]) for row in csv.DictReader(f)}
    assert Path(written["tracker csv"]).parent == finetune / "logs" / "csv" / "version_0"
    for name, value in expected(results).items():
        assert table[name] == pytest.approx(value, rel=1e-12), name


def test_no_logger_no_tracker(tmp_path):
    run = judged_pipeline(tmp_path / "run", instruction_items(20), {"response_before": 0.3, "response_after": 0.6}, 1)
    assert not [k for k in write_report(run) if k.startswith("tracker")]
