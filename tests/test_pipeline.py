"""Pipeline recipes (`steps:`): validation, references, caching, SIGKILL + resume, the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from workshop.core.errors import WorkshopError
from workshop.core.paths import RECIPES_DIR
from workshop.run.pipeline import interpolate, validate_pipeline
from workshop.run.recipes import load_recipe

FACTS = [("Italy", "Rome"), ("France", "Paris"), ("Spain", "Madrid"), ("Japan", "Tokyo"), ("Peru", "Lima")]


def test_shipped_pipelines_validate():
    for path in sorted((RECIPES_DIR / "pipelines").glob("*.yaml")):
        assert validate_pipeline(load_recipe(path), path), path


def test_validation_errors_name_the_step_and_suggest():
    base = {"name": "t", "steps": [{"name": "a", "uses": "split", "with": {"data": "x.json"}}]}
    with pytest.raises(WorkshopError, match=r"steps.0.uses: unknown step kind 'respnd'; did you mean 'respond'"):
        validate_pipeline({**base, "steps": [{"name": "a", "uses": "respnd"}]})
    with pytest.raises(WorkshopError, match=r"unknown key 'trian'; did you mean 'train'"):
        validate_pipeline({**base, "steps": [{"name": "a", "uses": "split", "with": {"data": "x", "trian": 0.8}}]})
    bad_ref = {"name": "b", "uses": "respond", "with": {"model": "${nope.checkpoint}", "data": "d", "key": "k"}}
    with pytest.raises(WorkshopError, match=r"refers to no earlier step"):
        validate_pipeline({**base, "steps": base["steps"] + [bad_ref]})
    with pytest.raises(WorkshopError, match=r"data: missing; it is required"):
        validate_pipeline({**base, "steps": [{"name": "a", "uses": "split", "with": {}}]})


def test_interpolate_keeps_types_and_formats_strings():
    scope = {"vars": {"n": 3, "keys": ["a", "b"]}, "split": {"test": "/t/test.json"}}
    assert interpolate({"n": "${vars.n}", "k": "${vars.keys}", "p": "${split.test}.bak"}, scope) == {
        "n": 3, "k": ["a", "b"], "p": "/t/test.json.bak"}
    with pytest.raises(WorkshopError, match="no such output"):
        interpolate("${split.train}", scope)


def tiny_pipeline(tmp_path: Path, ckpt: Path) -> Path:
    data = [{"instruction": f"What is the capital of {c}?", "input": "", "output": f"The capital is {a}."}
            for c, a in FACTS * 4]
    (tmp_path / "data.json").write_text(json.dumps(data))
    recipe = {
        "name": "tiny",
        "vars": {"model": str(ckpt)},
        "steps": [
            {"name": "split", "uses": "split", "with": {"data": str(tmp_path / "data.json"), "seed": 1}},
            {"name": "before", "uses": "respond", "with": {"model": "${vars.model}", "data": "${split.test}",
                                                            "key": "response_before", "max_new_tokens": 40, "batch_size": 1}},
            {"name": "finetune", "uses": "finetune_lora", "with": {
                "checkpoint_dir": "${vars.model}", "precision": "32-true",
                "data": {"class_path": "litgpt.data.JSON", "init_args": {"json_path": "${split.train}",
                                                                         "val_split_fraction": 0.2, "num_workers": 0}},
                "train": {"max_steps": 2, "global_batch_size": 2, "micro_batch_size": 2, "max_seq_length": 64,
                          "lr_warmup_steps": 1, "save_interval": 1000},
                "eval": {"interval": 1, "max_iters": 1, "max_new_tokens": 4}, "logger_name": "csv"}},
            {"name": "after", "uses": "respond", "with": {"model": "${finetune.checkpoint}", "data": "${before.data}",
                                                           "key": "response_after", "max_new_tokens": 40, "batch_size": 1}},
            {"name": "judge", "uses": "judge", "with": {"data": "${after.data}", "judge": "${vars.model}",
                                                         "keys": ["response_before", "response_after"], "mode": "logits"}},
            {"name": "report", "uses": "report"},
        ],
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_sigkill_mid_pipeline_then_rerun_reuses_finished_steps(tiny_checkpoint_dir, tmp_path):
    recipe, out = tiny_pipeline(tmp_path, tiny_checkpoint_dir), tmp_path / "run"
    cmd = [sys.executable, "-m", "workshop", "quickstart", "--recipe", str(recipe), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    record = out / "finetune" / "step.json"
    deadline = time.time() + 300
    while time.time() < deadline and not (record.is_file() and '"done"' in record.read_text()):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.parent.name for p in out.glob("*/step.json") if '"done"' in p.read_text()}
    assert {"split", "before", "finetune"} <= finished
    assert not (out / "report.html").exists(), "the run finished before it could be interrupted"
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    steps = json.loads((out / "pipeline.json").read_text())["steps"]
    assert {name for name, s in steps.items() if s["reused"]} == finished
    results = json.loads((out / "results.json").read_text())
    for key in ("response_before", "response_after"):
        assert results["judge"]["keys"][key]["n_scored"] == results["judge"]["keys"][key]["n"] == 3
    assert "loss" in results["finetune"]["series"] and results["finetune"]["final_val_loss"] is not None
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3  # loss curve, histograms, paired scatter
    # a third run reuses everything, and `workshop report` re-renders from the folder alone
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.count("reused") == len(steps)
    (out / "report.md").unlink()
    assert subprocess.run([sys.executable, "-m", "workshop", "report", str(out)]).returncode == 0
    assert (out / "report.md").read_text().startswith("# workshop report: tiny")


def test_a_finished_step_reruns_when_its_input_file_changes(tiny_checkpoint_dir, tmp_path, capsys):
    from workshop.run.pipeline import run_pipeline

    data = tmp_path / "data.json"
    entries = [{"instruction": f"Name the capital of {c}.", "input": "", "output": a} for c, a in FACTS * 2]
    data.write_text(json.dumps(entries))
    recipe = {"name": "t", "steps": [
        {"name": "split", "uses": "split", "with": {"data": str(data), "seed": 1}},
        {"name": "respond", "uses": "respond", "with": {"model": str(tiny_checkpoint_dir), "data": "${split.test}",
                                                        "key": "r", "max_new_tokens": 2}}]}
    out = tmp_path / "run"
    run_pipeline(recipe, out_dir=out)
    run_pipeline(recipe, out_dir=out)
    assert "[split] reused" in capsys.readouterr().out
    data.write_text(json.dumps([{**e, "output": e["output"].upper()} for e in entries]))  # same size, new content
    run_pipeline(recipe, out_dir=out)
    printed = capsys.readouterr().out
    assert "[split] running" in printed and "[respond] running" in printed  # downstream reruns too
    assert {e["output"] for e in json.loads((out / "respond" / "responses.json").read_text())} <= {a.upper() for _, a in FACTS}
