"""`workshop judge`: one-line errors for bad data, outputs on disk, and resume after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workshop.cli.main import main
from workshop.judge import score_file
from workshop.judge.cache import CACHE_FILE

from test_judge_fixtures import one_thread, tiny_digits_dir  # noqa: F401 (fixtures)


pytestmark = pytest.mark.usefixtures("one_thread")


def write_data(path: Path, n: int) -> Path:
    rows = [
        {"instruction": f"Add {i} and {i + 1}.", "input": "" if i % 2 else "numbers", "output": f"{2 * i + 1}",
         "a": f"{2 * i + 1}", "b": f"It is {i}."}
        for i in range(n)
    ]
    path.write_text(json.dumps(rows, indent=1))
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "file is empty"),
        ("[{\"instruction\": 1,", "not valid JSON"),
        ("{\"a\": 1}", "expected a JSON list"),
        ("[]", "list of entries is empty"),
        ('[{"instruction": "x", "input": "", "output": "y", "a": "z"}, {"instruction": "x", "output": "y"}]',
         "entry 1 has no key 'a'"),
        ('[{"instruction": "x", "input": "", "output": "y", "a": null}]', "entry 0 key 'a' is a NoneType"),
    ],
)
def test_bad_data_is_one_line_error(tmp_path, capsys, tiny_digits_dir, content, message):
    data = tmp_path / "data.json"
    data.write_text(content)
    out = tmp_path / "o"
    rc = main(["judge", "--data", str(data), "--key", "a", "--judge", str(tiny_digits_dir), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith(f"workshop: error: {data}") and message in err, err
    assert not (out / "scores.jsonl").exists()


def test_missing_file_and_judge_are_one_line_errors(tmp_path, capsys, tiny_digits_dir):
    assert main(["judge", "--data", str(tmp_path / "nope.json"), "--key", "a", "--judge", str(tiny_digits_dir)]) == 2
    assert "nope.json: file not found" in capsys.readouterr().err
    data = write_data(tmp_path / "d.json", 2)
    assert main(["judge", "--data", str(data), "--key", "a", "--judge", str(tmp_path / "no-judge")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-judge" in err and "Traceback" not in err


def test_entries_without_output_complete_with_nulls_and_a_note(tmp_path, capsys, tiny_digits_dir):
    rows = [{"instruction": "Say hi.", "input": "", "a": "Hi.", "b": "Hello."},
            {"instruction": "Add 1 and 2.", "input": "", "output": "3", "a": "3", "b": "4."}]
    data, out = tmp_path / "data.json", tmp_path / "o"
    data.write_text(json.dumps(rows))
    assert main(["judge", "--data", str(data), "--key", "a", "--key", "b", "--judge", str(tiny_digits_dir),
                 "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    records = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert [(r["exact_match"], r["token_f1"], r["rouge_l"]) for r in records[:2]] == [(None, None, None)] * 2
    assert [r["exact_match"] for r in records[2:]] == [True, False] and all(r["score"] is not None for r in records)
    assert summary["keys"]["a"]["reference"]["n"] == 1 and "1 of 2 entries have no 'output'" in summary["keys"]["a"]["reference"]["note"]
    assert "no-reference" in summary["notes"][0] and "Note: 1 of 2 entries" in capsys.readouterr().out
    none_have = tmp_path / "none.json"
    none_have.write_text(json.dumps([rows[0], rows[0]]))
    summary = score_file(none_have, ["a", "b"], judge=str(tiny_digits_dir), out_dir=tmp_path / "o2", progress=False)
    assert summary["keys"]["b"]["reference"] == {"exact_match": None, "token_f1": None, "rouge_l": None, "n": 0,
                                                 "note": summary["keys"]["b"]["reference"]["note"]}
    assert summary["paired"]["mcnemar_p"] is None and summary["reliability"]["verdict"] is None
    assert "no entry has a reference answer" in summary["reliability"]["sentence"]


def test_custom_template_needing_output_is_a_one_line_error(tmp_path, capsys, tiny_digits_dir):
    data, template = tmp_path / "data.json", tmp_path / "t.txt"
    data.write_text(json.dumps([{"instruction": "x", "input": "", "a": "z"}]))
    template.write_text("Q: {input} Gold: {output} Answer: {response}")
    assert main(["judge", "--data", str(data), "--key", "a", "--judge", str(tiny_digits_dir),
                 "--template", str(template)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "entry 0 has no key 'output'" in err and "--template without {output}" in err


def mean_score(records: list[dict], key: str) -> float:
    scores = [r["score"] for r in records if r["key"] == key]
    return sum(scores) / len(scores)


def judge_args(data: Path, judge: Path, out: Path) -> list[str]:
    return ["judge", "--data", str(data), "--key", "a", "--key", "b", "--judge", str(judge), "--out", str(out),
            "--batch-size", "1"]


ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # a tiny model is latency-bound; a busy core would slow it


def test_sigkill_then_resume_scores_each_item_once(tmp_path, tiny_digits_dir, capsys):
    data, out = write_data(tmp_path / "data.json", 10), tmp_path / "out"
    cache = out / CACHE_FILE
    cmd = [sys.executable, "-m", "workshop", *judge_args(data, tiny_digits_dir, out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ONE_THREAD)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if cache.exists() and cache.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished (or failed) before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [line for line in cache.read_text().splitlines(keepends=True) if line.endswith("\n")]
    assert 3 <= len(before) < 20 and not (out / "summary.json").exists()

    assert main(judge_args(data, tiny_digits_dir, out)) == 0  # the same command again, in this process
    printed = capsys.readouterr().out
    assert "| a | 10 / 10 |" in printed and "| b | 10 / 10 |" in printed
    after = cache.read_text().splitlines(keepends=True)
    assert after[: len(before)] == before  # finished judgements kept as they were, not redone
    keys = [json.loads(line)["cache_key"] for line in after]
    assert len(keys) == len(set(keys)) == 20  # every (entry, key) judged exactly once
    records = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert [(r["id"], r["key"]) for r in records] == [(i, k) for i in range(10) for k in ("a", "b")]
    assert all(r["score"] is not None and r["mode"] == "logits" for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["judge"] == str(tiny_digits_dir) and summary["paired"]["n"] == 10
    assert {p.name for p in out.iterdir()} >= {"scores.jsonl", "summary.json", "summary.md", "scores.png", "paired.png"}

    again = score_file(data, ["a", "b"], out_dir=out, limit=5, judge=str(tiny_digits_dir), batch_size=1, progress=False)
    assert again["keys"]["a"]["n"] == 5 and again["keys"]["b"]["mean"] == pytest.approx(mean_score(records[:10], "b"))
    assert cache.read_text().splitlines(keepends=True) == after  # nothing re-scored


@pytest.mark.parametrize("verb", ["judge", "judge agreement"])
def test_help_explains_every_flag(verb, capsys):
    import inspect
    import re

    from workshop.run.jobs import VERBS, target

    func = target(VERBS[verb].target)
    with pytest.raises(SystemExit):
        main([*verb.split(), "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    args = inspect.getdoc(func).split("Args:")[1]
    for name in inspect.signature(func).parameters:
        doc = re.search(rf"^\s*{name}: (.+?)(?=^\s*\w+: |\Z)", args, re.MULTILINE | re.DOTALL)
        assert doc, f"{verb}: no help for {name}"
        assert f"--{name}" in printed and " ".join(doc.group(1).split())[:40] in printed, name
