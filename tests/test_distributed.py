"""`--devices 2` on CPU (two gloo processes through Lightning Fabric): outputs identical to one device, per-rank
resume files; multi-GPU finetune recipes validate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import workshop
from workshop.cli.main import main
from workshop.models.distributed import rank_path, shard
from workshop.core.errors import WorkshopError
from workshop.evals import mmlu
from workshop.core.io import AppendLog, read_json, read_jsonl
from workshop.judge.cache import cache_key
from workshop.judge.prompt import build_prompt, load_template
from workshop.judge.scoring import score_file
from workshop.core.paths import RECIPES_DIR
from workshop.run.recipes import load_recipe, validate
from workshop.respond import entry_prompt, respond_file, settings_hash

from test_respond import ENTRIES  # the same five entries as the one-device tests


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "test.json"
    path.write_text(json.dumps(ENTRIES))
    return path


def test_respond_on_two_processes_equals_one(tiny_checkpoint_dir, data, tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    common = dict(max_new_tokens=10, batch_size=2, device="cpu")
    respond_file(str(tiny_checkpoint_dir), data, "response", out=one, **common)
    # rank 1 of 2 takes the second batch of the length-sorted entries; its progress file already holds its first
    tiny = workshop.load(tiny_checkpoint_dir)
    order = sorted(range(len(ENTRIES)), key=lambda i: len(entry_prompt(tiny, ENTRIES[i])))
    first_of_rank1 = shard(order, 2, 1, 2)[0]
    run = settings_hash(tiny, "response", max_new_tokens=10, temperature=0.0, seed=None, batch_size=2)
    with AppendLog(rank_path(two.with_name(".two.json.response.progress.jsonl"), 1, 2)) as log:
        log.append({"run": run, "index": 0, "response": "CACHED"})
    respond_file(str(tiny_checkpoint_dir), data, "response", out=two, devices=2, **common)
    expected = read_json(one)
    expected[first_of_rank1]["response"] = "CACHED"
    assert read_json(two) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.json", "test.json", "two.json"]  # progress removed


def test_shard_keeps_whole_batches():
    assert shard([4, 0, 3, 1, 2], 2, 0, 2) == [4, 0, 2]
    assert shard([4, 0, 3, 1, 2], 2, 1, 2) == [3, 1]
    assert sorted(shard(range(7), 3, 0, 2) + shard(range(7), 3, 1, 2)) == list(range(7))


def test_judge_on_two_processes_equals_one(tiny_checkpoint_dir, tmp_path):
    judged = tmp_path / "judged.json"
    judged.write_text(json.dumps([{**e, "response": r} for e, r in zip(ENTRIES, "abcde")]))
    for out, devices in (("one", 1), ("two", 2)):
        score_file(judged, ["response"], judge=str(tiny_checkpoint_dir), mode="logits", batch_size=2,
                   out_dir=tmp_path / out, devices=devices)
    assert read_jsonl(tmp_path / "two" / "scores.jsonl") == read_jsonl(tmp_path / "one" / "scores.jsonl")
    assert read_json(tmp_path / "two" / "summary.json") == read_json(tmp_path / "one" / "summary.json")
    assert not list((tmp_path / "two" / ".cache").glob("judge-ranks*"))  # merged into the main cache


def test_rank_0_resumes_from_its_log(tiny_checkpoint_dir, tmp_path):
    """Independent of prompt lengths: a rank's logged result is reused, not recomputed."""
    judged = tmp_path / "judged.json"
    rows = [{**ENTRIES[1], "response": "x" * (i + 1)} for i in range(2)]  # item 0 has the shorter prompt: rank 0's
    judged.write_text(json.dumps(rows))
    judge = str(tiny_checkpoint_dir)
    key0 = cache_key(judge, "logits", {}, build_prompt(rows[0], "response", load_template()))
    with AppendLog(rank_path(tmp_path / "out" / ".cache" / "judge-ranks.jsonl", 0, 2)) as log:
        log.append({"key": key0, "result": {"score": 42.0, "raw": None, "reason": None, "argmax": 42, "valid_mass": 0.5}})
    score_file(judged, ["response"], judge=judge, mode="logits", batch_size=1, out_dir=tmp_path / "out", devices=2)
    records = read_jsonl(tmp_path / "out" / "scores.jsonl")
    assert records[0]["score"] == 42.0 and records[1]["score"] != 42.0


def write_mmlu(root: Path, n: int) -> Path:
    (root / "test").mkdir(parents=True)
    rows = [[f"Question {i}: which is {w}?", "first", "second", "third", "fourth", "ABCD"[i % 4]]
            for i, w in enumerate(["virtue", "logic", "Kant", "Hume", "ethics", "beauty", "mind", "truth", "time"][:n])]
    with open(root / "test" / "philosophy_test.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return root


def test_mmlu_on_two_processes_equals_one(tiny_checkpoint_dir, tmp_path):
    data_dir = write_mmlu(tmp_path / "mmlu", 9)  # 9 questions in batches of 2: ranks of 3 and 2 batches
    kwargs = dict(data_dir=data_dir, log_samples=True, batch_size=2, device="cpu")
    one = mmlu.evaluate(tiny_checkpoint_dir, "mmlu_philosophy", out_dir=tmp_path / "one", **kwargs)
    two = mmlu.evaluate(tiny_checkpoint_dir, "mmlu_philosophy", out_dir=tmp_path / "two", devices=2, **kwargs)
    assert two["results"]["mmlu_philosophy"] == one["results"]["mmlu_philosophy"]
    assert two["workshop"]["questions"] == 9

    def by_doc(out):
        return sorted((r["doc_id"], r["filtered_resps"], r["acc"]) for r in read_jsonl(out / "samples_mmlu_philosophy.jsonl"))

    assert by_doc(tmp_path / "two") == by_doc(tmp_path / "one")  # every log-likelihood, to the last bit
    logs = sorted((tmp_path / "two" / ".cache").glob("loglikelihood-*.rank*-of-2.jsonl"))
    assert [len(read_jsonl(p)) for p in logs] == [5 * 4, 4 * 4]  # each rank's answers, kept as they came
    # a rerun reads each rank's log instead of computing: a planted value shows up in the samples
    planted = read_jsonl(logs[0])
    planted[0]["value"] = [-1234.5, False]
    logs[0].write_text("".join(json.dumps(r) + "\n" for r in planted))
    mmlu.evaluate(tiny_checkpoint_dir, "mmlu_philosophy", out_dir=tmp_path / "two", devices=2, **kwargs)
    assert "-1234.5" in (tmp_path / "two" / "samples_mmlu_philosophy.jsonl").read_text()


def test_cli_devices_flag(tiny_checkpoint_dir, data, tmp_path, capfd):
    assert main(["respond", "--model", str(tiny_checkpoint_dir), "--data", str(data), "--key", "r", "--devices", "2",
                 "--device", "cpu", "--max-new-tokens", "4", "--batch-size", "2", "--out", str(tmp_path / "o.json")]) == 0
    assert len(read_json(tmp_path / "o.json")) == 5
    err = capfd.readouterr().err  # both ranks write to the same stderr
    assert "respond (r), 2 ranks" in err and "5/5" in err  # every entry counted, not rank 0's 3
    assert "3/3" not in err and "Initializing distributed" not in err and "distributed_backend" not in err
    assert main(["respond", "--model", "http://127.0.0.1:9/v1", "--data", str(data), "--key", "r", "--devices", "2"]) == 2
    assert "--devices applies to checkpoints" in capfd.readouterr().err


@pytest.mark.parametrize("name", ["phi-2-lora-4gpu.yaml", "llama-3-8b-instruct-lora-4gpu.yaml"])
def test_multi_gpu_recipes_validate(name, tiny_checkpoint_dir, capsys):
    path = RECIPES_DIR / "finetune" / name
    resolved = validate(load_recipe(path), path, check_files=False)
    single = validate(load_recipe(path.with_name(name.replace("-4gpu", ""))), check_files=False)
    assert resolved["devices"] == 4 and resolved["num_nodes"] == 1
    assert {k: v for k, v in resolved.items() if k not in ("devices", "out_dir", "description")} == \
           {k: v for k, v in single.items() if k not in ("devices", "out_dir", "description")}
    instructions = "workshop:data/instructions/instruction-data.json"
    assert main(["run", str(path), "--dry-run", "--set", f"checkpoint_dir={tiny_checkpoint_dir}",
                 "--set", f"data.init_args.json_path={instructions}"]) == 0
    assert "nothing was run" in capsys.readouterr().out
    assert main(["run", str(path), "--set", f"checkpoint_dir={tiny_checkpoint_dir}",
                 "--set", f"data.init_args.json_path={instructions}"]) == 2  # this machine has no 4 GPUs
    assert "devices: 4 GPUs wanted, 0 found here" in capsys.readouterr().err


def test_quantized_recipes_stay_single_device():
    recipe = load_recipe(RECIPES_DIR / "finetune" / "qlora-nf4.yaml", ["devices=4"])
    with pytest.raises(WorkshopError, match="LitGPT quantizes single-device runs only"):
        validate(recipe, check_files=False)
