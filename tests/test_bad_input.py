"""Bad input is stopped at the boundary: exit 2, one line naming the file/flag/key and the fix, files untouched.

One test per class of bad input found by trying the toolkit as a new user would (issue 9).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from workshop.cli.main import main
from workshop.core.paths import RECIPES_DIR

ENTRIES = [{"instruction": "Say hi.", "input": "", "output": "hi"},
           {"instruction": "Add 1 and 1.", "input": "", "output": "2"}]


def run(argv: list[str], capsys) -> str:
    """Run the CLI in-process; assert it failed cleanly and return its one error line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("workshop: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "test.json"
    path.write_text(json.dumps(ENTRIES, indent=2))
    return path


def broken_copy(src: Path, dest: Path, name: str, content: bytes) -> Path:
    shutil.copytree(src, dest)
    (dest / name).write_bytes(content)
    return dest


@pytest.mark.parametrize("kind", ["truncated", "not a zip"])
def test_corrupt_weights_are_named_with_the_fix(kind, tiny_checkpoint_dir, tmp_path, data, capsys):
    weights = (tiny_checkpoint_dir / "lit_model.pth").read_bytes()
    content = weights[: len(weights) // 2] if kind == "truncated" else b"hello"
    bad = broken_copy(tiny_checkpoint_dir, tmp_path / "ckpt", "lit_model.pth", content)
    before = data.read_bytes()
    for argv in (["generate", "--model", str(bad), "--prompt", "hi"],
                 ["respond", "--model", str(bad), "--data", str(data), "--key", "response"],
                 ["judge", "--data", str(data), "--key", "output", "--judge", str(bad)]):
        err = run(argv, capsys)
        assert f"{bad}/lit_model.pth is truncated or not a PyTorch file; re-create it" in err
    assert data.read_bytes() == before


def test_unparseable_model_config(tiny_checkpoint_dir, tmp_path, capsys):
    bad = broken_copy(tiny_checkpoint_dir, tmp_path / "ckpt", "model_config.yaml", b"name: [tiny\n")
    err = run(["generate", "--model", str(bad), "--prompt", "hi"], capsys)
    assert err.endswith(f"{bad}/model_config.yaml:2: not valid YAML; re-create it "
                        "(rerun the job that wrote it, or `workshop download <org>/<name> --force`)")


@pytest.mark.parametrize(("argv", "message"), [
    (["generate", "--prompt", "hi", "--max-new-tokens", "0"], "--max-new-tokens: 0 is out of range; use a whole number of 1 or more"),
    (["generate", "--prompt", "hi", "--max-new-tokens", "-3"], "--max-new-tokens: -3 is out of range"),
    (["respond", "--data", "DATA", "--key", "r", "--batch-size", "0"], "--batch-size: 0 is out of range; use a whole number of 1 or more"),
    (["judge", "--data", "DATA", "--key", "output", "--limit", "0"], "--limit: 0 is out of range; use a whole number of 1 or more (or leave it out)"),
    (["judge", "--data", "DATA", "--key", "output", "--limit", "-1"], "--limit: -1 is out of range"),
    (["eval", "perplexity", "--data", "DATA", "--batch-size", "-2"], "--batch-size: -2 is out of range"),
    (["generate", "--prompt", "hi", "--temperature", "hot"], "--temperature: 'hot' is not a number; use a number of 0 or more"),
])
def test_zero_and_negative_numbers_are_refused_before_any_work(argv, message, tiny_checkpoint_dir, data, capsys):
    model = ["--model" if argv[0] != "judge" else "--judge", str(tiny_checkpoint_dir)]
    err = run([str(data) if a == "DATA" else a for a in argv] + model, capsys)
    assert message in err


@pytest.mark.parametrize(("entry", "message"), [
    ({"instruction": 5, "input": "", "output": "x"}, "entry 0: key 'instruction' must be a string, got int"),
    ({"instruction": "x", "input": ["a"], "output": "x"}, "entry 0: key 'input' must be a string, got list"),
])
def test_entries_with_wrong_types_leave_the_file_untouched(entry, message, tiny_checkpoint_dir, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([entry]))
    before = path.read_bytes()
    err = run(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(path), "--key", "response"], capsys)
    assert f"{path}: {message}" in err and path.read_bytes() == before


def test_judge_refuses_a_response_that_is_not_text(tiny_checkpoint_dir, tmp_path, capsys):
    path = tmp_path / "scored.json"
    path.write_text(json.dumps([{**ENTRIES[0], "response": 7}]))
    err = run(["judge", "--data", str(path), "--key", "response", "--judge", str(tiny_checkpoint_dir)], capsys)
    assert "entry 0 key 'response' is a int, expected the response text" in err


@pytest.mark.parametrize("argv", [
    ["respond", "--model", "CKPT", "--data", "DATA", "--key", "r", "--out", "FILE/x.json"],
    ["respond", "--model", "CKPT", "--data", "DATA", "--key", "r", "--out", "DIR"],
    ["eval", "perplexity", "--model", "CKPT", "--data", "DATA", "--field", "output", "--out-dir", "FILE"],
    ["data", "split", "DATA", "--out-dir", "FILE"],
    ["quickstart", "--out", "FILE", "--dry-run"],
])
def test_output_paths_that_cannot_be_written_are_refused(argv, tiny_checkpoint_dir, tmp_path, data, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    values = {"CKPT": str(tiny_checkpoint_dir), "DATA": str(data), "FILE": str(blocker), "DIR": str(tmp_path),
              "FILE/x.json": str(blocker / "x.json")}
    expected = tmp_path if "DIR" in argv else blocker
    err = run([values.get(a, a) for a in argv], capsys)
    assert str(expected) in err and "pick another path" in err
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize(("override", "message"), [
    ("lora_r=-1", "lora_r: -1 is out of range; use a whole number of 1 or more"),
    ("lora_alpha=0", "lora_alpha: 0 is out of range"),
    ("train.micro_batch_size=0", "train.micro_batch_size: 0 is out of range"),
])
def test_recipe_values_out_of_range_fail_the_dry_run(override, message, tiny_checkpoint_dir, capsys):
    recipe = RECIPES_DIR / "finetune" / "smollm2-135m-lora.yaml"
    err = run(["run", str(recipe), "--dry-run", "--set", override, "--set", f"checkpoint_dir={tiny_checkpoint_dir}"],
              capsys)
    assert message in err


def test_dry_run_reports_a_missing_checkpoint_and_data(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    err = run(["run", str(RECIPES_DIR / "finetune" / "phi-2-lora.yaml"), "--dry-run"], capsys).split("error: ")[-1]
    assert err.endswith("checkpoint_dir: microsoft/phi-2 is not downloaded yet (looked in checkpoints/microsoft/phi-2); "
                        "run `workshop download microsoft/phi-2` (offline: `workshop download smollm2-135m-instruct`)")


def test_recipe_paths_are_relative_to_the_working_directory(tiny_checkpoint_dir, tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    shutil.copytree(tiny_checkpoint_dir, project / "ckpt")
    (project / "train.json").write_text(json.dumps(ENTRIES * 5))
    recipe = project / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"job": "finetune_lora", "checkpoint_dir": "ckpt", "out_dir": "out",
                                      "data": {"class_path": "JSON", "init_args": {"json_path": "train.json"}}}))
    monkeypatch.chdir(project)
    assert main(["run", str(recipe), "--dry-run"]) == 0
    assert "valid (finetune_lora)" in capsys.readouterr().out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    err = run(["run", str(recipe), "--dry-run"], capsys)
    assert "checkpoint_dir: no checkpoint at ckpt" in err
    (elsewhere / "ckpt").symlink_to(project / "ckpt")
    err = run(["run", str(recipe), "--dry-run"], capsys)
    assert f"data.init_args.json_path: train.json does not exist (relative paths are relative to the working directory, {elsewhere}" in err


def test_respond_never_overwrites_without_being_asked(tiny_checkpoint_dir, data, capsys):
    before = data.read_bytes()
    for key, message in (("output", "--key output: that field holds the entry's output"),
                         ("instruction", "--key instruction: that field holds the entry's instruction")):
        assert message in run(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(data), "--key", key], capsys)
    assert "missing --key (required" in run(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(data)], capsys)
    data.write_text(json.dumps([{**e, "response": "mine"} for e in ENTRIES]))
    before = data.read_bytes()
    err = run(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(data), "--key", "response"], capsys)
    assert "2 entries already have 'response'; pass --overwrite to replace them" in err
    assert data.read_bytes() == before
    assert main(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(data), "--key", "response",
                 "--overwrite", "--max-new-tokens", "2"]) == 0
    assert all(e["response"] != "mine" for e in json.loads(data.read_text()))


def test_the_default_judge_offline_points_at_the_offline_judge(tmp_path, data, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    err = run(["judge", "--data", str(data), "--key", "output"], capsys)
    assert err.endswith("run `workshop download meta-llama/Meta-Llama-3-8B-Instruct`; offline, pass "
                        "--judge smollm2-135m-instruct (a 135M judge: weak, and its summary says how weak)")


def test_mmlu_refuses_an_output_folder_that_is_a_file(tiny_checkpoint_dir, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    err = run(["eval", "mmlu", "--model", str(tiny_checkpoint_dir), "--out", str(blocker)], capsys)
    assert f"--out: {blocker} is an existing file, expected a folder for the outputs" in err
    assert blocker.read_text() == "mine"


def test_mmlu_compare_names_a_damaged_results_file(tmp_path, capsys):
    good, bad = tmp_path / "a" / "results.json", tmp_path / "b" / "results.json"
    for path in (good, bad):
        path.parent.mkdir()
    good.write_text('{"results": {}}')
    bad.write_text('{"results": {"mmlu_philosophy": ')  # cut short
    err = run(["eval", "mmlu", "--compare", str(good), str(bad)], capsys)
    assert err.endswith(f"{bad}:1: not valid JSON (Expecting value); fix the file")
    assert bad.read_text() == '{"results": {"mmlu_philosophy": '
