"""`workshop respond`: batched == sequential, resumable after SIGKILL, nothing duplicated or lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import workshop
from workshop.cli.main import main
from workshop.core.io import AppendLog
from workshop.respond import entry_prompt, respond, settings_hash

ENTRIES = [
    {"instruction": "Rewrite the sentence in passive voice.", "input": "The cat chased the mouse.", "output": "x"},
    {"instruction": "What is the capital of Italy?", "input": "", "output": "Rome."},
    {"instruction": "Name a primary color.", "input": "", "output": "Red."},
    {"instruction": "Convert 3 km to meters.", "input": "", "output": "3000 meters."},
    {"instruction": "Give an antonym.", "input": "happy", "output": "sad"},
]


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint_dir):
    return workshop.load(tiny_checkpoint_dir)


def test_prompt_uses_the_checkpoint_prompt_style(tiny):
    assert entry_prompt(tiny, ENTRIES[4]).endswith("### Input:\nhappy\n\n### Response:\n")
    assert entry_prompt(tiny, ENTRIES[1]).endswith("### Instruction:\nWhat is the capital of Italy?\n\n### Response:\n")


def test_batched_equals_sequential(tiny):
    batched = respond(tiny, ENTRIES, "response", batch_size=4, max_new_tokens=12)
    sequential = respond(tiny, ENTRIES, "response", batch_size=1, max_new_tokens=12)
    assert [e["response"] for e in batched] == [e["response"] for e in sequential]
    assert all(e["response"] for e in batched)
    assert [{k: v for k, v in e.items() if k != "response"} for e in batched] == ENTRIES


def test_sampling_draws_one_stream_across_batches(tiny, tmp_path):
    same = [ENTRIES[1]] * 4  # one question four times, one per batch
    first = [e["r"] for e in respond(tiny, same, "r", batch_size=1, max_new_tokens=6, temperature=1.0, seed=7)]
    assert len(set(first)) == 4  # a stream restarted per batch would answer all four the same
    again = [e["r"] for e in respond(tiny, same, "r", batch_size=1, max_new_tokens=6, temperature=1.0, seed=7)]
    assert again == first  # and the seed makes the run reproducible
    assert settings_hash(tiny, "r", temperature=1.0, seed=7, batch_size=1) != settings_hash(
        tiny, "r", temperature=1.0, seed=7, batch_size=2)


def test_resume_reuses_finished_entries_only(tiny, tmp_path):
    progress = tmp_path / "progress.jsonl"
    run = settings_hash(tiny, "response", max_new_tokens=12, temperature=0.0, seed=None, batch_size=2)
    with AppendLog(progress) as log:
        log.append({"run": run, "index": 1, "response": "CACHED"})
        log.append({"run": "other-model", "index": 2, "response": "STALE"})
    with open(progress, "a") as f:
        f.write('{"run": "' + run + '", "index": 3, "resp')  # a line cut by SIGKILL
    out = respond(tiny, ENTRIES, "response", batch_size=2, max_new_tokens=12, progress_path=progress)
    assert out[1]["response"] == "CACHED"
    assert out[2]["response"] != "STALE"
    fresh = respond(tiny, ENTRIES, "response", batch_size=2, max_new_tokens=12)
    assert [e["response"] for i, e in enumerate(out) if i != 1] == [e["response"] for i, e in enumerate(fresh) if i != 1]
    indices = [r["index"] for r in AppendLog(progress).records() if r["run"] == run]
    assert sorted(indices) == [0, 1, 2, 3, 4]  # each entry once, the cut line dropped


def test_a_fully_cached_rerun_says_it_reused_the_work(tiny, tmp_path, capsys):
    progress = tmp_path / "progress.jsonl"
    first = respond(tiny, ENTRIES, "r", batch_size=2, max_new_tokens=4, progress_path=progress)
    capsys.readouterr()
    again = respond(tiny, ENTRIES, "r", batch_size=2, max_new_tokens=4, progress_path=progress)
    assert again == first
    err = capsys.readouterr().err
    assert f"respond (r): all 5 responses reused from {progress}" in err
    assert "0entry" not in err and "?entry/s" not in err  # no empty progress bar


def test_sigkill_then_rerun_answers_every_entry_once(tiny_checkpoint_dir, tmp_path):
    entries = [{"instruction": f"Write a list of {i} items.", "input": "", "output": "-"} for i in range(24)]
    data = tmp_path / "test.json"
    data.write_text(json.dumps(entries))
    out = tmp_path / "out.json"
    cmd = [sys.executable, "-m", "workshop", "respond", "--model", str(tiny_checkpoint_dir), "--data", str(data),
           "--key", "response_after", "--out", str(out), "--batch-size", "1", "--max-new-tokens", "24"]
    progress = tmp_path / ".out.json.response_after.progress.jsonl"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not progress.exists() or len(progress.read_text().splitlines()) < 3):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(progress.read_text().splitlines())
    assert 3 <= done_before < len(entries), "the run was not interrupted mid-way"
    assert not out.exists()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    result = json.loads(out.read_text())
    assert len(result) == len(entries)
    assert all(r["response_after"] for r in result)
    assert not progress.exists()
    reference = respond(workshop.load(tiny_checkpoint_dir), entries, "response_after", batch_size=8, max_new_tokens=24)
    assert [r["response_after"] for r in result] == [r["response_after"] for r in reference]


def test_bad_input_is_one_line_error(tiny_checkpoint_dir, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"input": "x"}]')
    assert main(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(bad), "--key", "r"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "entry 0: missing key 'instruction'; every entry needs instruction, input" in err
    assert main(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(tmp_path / "missing.json"), "--key", "r"]) == 2
    assert "file not found" in capsys.readouterr().err
