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
