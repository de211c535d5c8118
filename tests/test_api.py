"""The API is the CLI: every checkpoint name the CLI takes works the same from Python."""

from __future__ import annotations

import json
import shutil

import pytest

import workshop
from workshop.cli.main import main
from workshop.evals.perplexity import perplexity
from workshop.judge import score
from workshop.respond import respond

ENTRIES = [{"instruction": "Name a primary color.", "input": "", "output": "Red."},
           {"instruction": "What is 2 + 2?", "input": "", "output": "4"}]


@pytest.fixture
def in_project(tiny_checkpoint_dir, tmp_path, monkeypatch):
    """A working directory whose ./checkpoints/org/tiny is the tiny checkpoint (LitGPT's layout)."""
    shutil.copytree(tiny_checkpoint_dir, tmp_path / "checkpoints" / "org" / "tiny")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", ["org/tiny", "checkpoints/org/tiny"])
def test_repo_ids_and_paths_load_in_python_as_on_the_cli(name, in_project, capsys):
    loaded = workshop.load(name)
    reply = loaded.generate("Name a primary color.", max_new_tokens=4)
    assert main(["generate", "--model", name, "--prompt", "Name a primary color.", "--max-new-tokens", "4"]) == 0
    assert capsys.readouterr().out.strip() == reply


def test_respond_judge_and_perplexity_take_names(in_project):
    direct = respond(workshop.load("org/tiny"), ENTRIES, "response", max_new_tokens=4)
    assert respond("org/tiny", ENTRIES, "response", max_new_tokens=4) == direct  # a name, not a loaded model
    records, summary = score(direct, ["response"], judge="org/tiny", mode="logits", progress=False)
    assert summary["keys"]["response"]["n_scored"] == 2 and len(records) == 2
    texts = in_project / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": e["output"]}) + "\n" for e in ENTRIES))
    assert perplexity("org/tiny", texts)["texts"] == 2


def test_load_instructions_takes_the_shipped_name_recipes_take():
    from workshop.core.paths import DATA_DIR
    from workshop.datasets.instructions import load_instructions

    expected = json.loads((DATA_DIR / "instructions" / "instruction-data.json").read_text(encoding="utf-8"))
    assert load_instructions("workshop:data/instructions/instruction-data.json") == expected


def test_mmlu_evaluate_takes_data_dir_auto_as_the_cli_does(tiny_checkpoint_dir, tmp_path, monkeypatch, capsys):
    import csv

    from workshop.evals.mmlu import evaluate

    root = tmp_path / "mmlu"
    (root / "test").mkdir(parents=True)
    rows = [[f"Question {i} about virtue?", "one", "two", "three", "four", "ABCD"[i % 4]] for i in range(4)]
    with open(root / "test" / "philosophy_test.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    monkeypatch.setenv("WORKSHOP_MMLU_DATA_DIR", str(root))  # where `auto` looks first
    auto = evaluate(tiny_checkpoint_dir, tasks="mmlu_philosophy", data_dir="auto", limit=3, batch_size=2)
    given = evaluate(tiny_checkpoint_dir, tasks="mmlu_philosophy", data_dir=root, limit=3, batch_size=2)
    assert auto["workshop"]["data_dir"] == given["workshop"]["data_dir"] == str(root)
    assert auto["results"] == given["results"] and auto["workshop"]["questions"] == 3
    assert main(["eval", "mmlu", "--model", str(tiny_checkpoint_dir), "--tasks", "mmlu_philosophy", "--data-dir", "auto",
                 "--limit", "3", "--batch-size", "2"]) == 0
    assert "3 questions in" in capsys.readouterr().out


def test_shipped_names_work_for_file_flags_too(tmp_path, capsys):
    out = tmp_path / "split"
    assert main(["data", "split", "workshop:data/instructions/instruction-data.json", "--out-dir", str(out)]) == 0
    assert (out / "train.json").is_file() and "entries" in capsys.readouterr().out


def test_eval_perplexity_prints_a_table_of_the_same_figures(tiny_checkpoint_dir, tmp_path, capsys):
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": e["output"]}) + "\n" for e in ENTRIES))
    result = perplexity(str(tiny_checkpoint_dir), texts)
    assert main(["eval", "perplexity", "--model", str(tiny_checkpoint_dir), "--data", str(texts),
                 "--out-dir", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert not printed.lstrip().startswith("{")  # people get a table, the JSON is in the file
    assert f"perplexity  {result['perplexity']:.2f}" in printed and f"loss        {result['loss']:.4f}" in printed
    assert f"({result['texts']} texts, {result['tokens']:,} tokens)" in printed
    saved = json.loads((tmp_path / "out" / "perplexity.json").read_text())
    assert saved["perplexity"] == pytest.approx(result["perplexity"])
