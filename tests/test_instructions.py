"""Instruction data: the workshop's collate, prompt formats and 85/15 split; loading errors; the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from workshop.cli.main import main
from workshop.core.errors import WorkshopError
from workshop.datasets.instructions import (
    format_example,
    format_input,
    instruction_collate,
    load_instructions,
    split,
    write_instructions,
)

ENTRY = {"instruction": "Identify the correct spelling of the following word.", "input": "Ocassion",
         "output": "The correct spelling is 'Occasion.'"}


def test_collate_reproduces_workshop_batch():
    inputs, targets = instruction_collate([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]])
    assert torch.equal(inputs, torch.tensor([[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256], [7, 8, 9, 50256, 50256]]))
    assert torch.equal(targets, torch.tensor([[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100],
                                              [8, 9, 50256, -100, -100]]))


def test_collate_masks_prompt_and_truncates():
    batch = [(3, [0, 1, 2, 3, 4]), (1, [5, 6]), (2, [7, 8, 9])]
    inputs, targets = instruction_collate(batch, mask_prompt=True, allowed_max_length=4)
    assert torch.equal(inputs, torch.tensor([[0, 1, 2, 3], [5, 6, 50256, 50256], [7, 8, 9, 50256]]))
    assert torch.equal(targets, torch.tensor([[-100, -100, 3, 4], [6, 50256, -100, -100], [-100, 9, 50256, -100]]))
    with pytest.raises(WorkshopError, match="prompt_len"):
        instruction_collate([[1, 2]], mask_prompt=True)


def test_collate_keeps_end_of_text_inside_the_text():
    _, targets = instruction_collate([[1, 50256, 2], [3]], pad_token_id=50256)
    assert targets.tolist() == [[50256, 2, 50256], [50256, -100, -100]]


def test_format_input_alpaca_and_phi3():
    assert format_input(ENTRY) == (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\nIdentify the correct spelling of the following word.\n\n### Input:\nOcassion"
    )
    no_input = {**ENTRY, "input": ""}
    assert format_input(no_input).endswith("### Instruction:\nIdentify the correct spelling of the following word.")
    assert format_input(ENTRY, "phi3") == "<|user|>\nIdentify the correct spelling of the following word.\nOcassion"
    assert format_input(no_input, "phi3") == "<|user|>\nIdentify the correct spelling of the following word."
    assert format_example(ENTRY, "phi3").endswith("Ocassion\n<|assistant|>:\nThe correct spelling is 'Occasion.'")
    assert format_example(ENTRY).endswith("Ocassion\n\n### Response:\nThe correct spelling is 'Occasion.'")
    with pytest.raises(WorkshopError, match="alpaca, phi3"):
        format_input(ENTRY, "chatml")


def test_workshop_split_935_165(instruction_data_path):
    data = load_instructions(instruction_data_path)
    parts = split(data)
    assert [len(parts["train"]), len(parts["test"])] == [935, 165]
    assert parts["train"][0] == data[0] and parts["test"][0] == data[935]  # order kept, as in the workshop
    book = split(data, train=0.85, test=0.1, val=0.05)  # LLMs-from-scratch ch07's three-way split
    assert [len(book[k]) for k in ("train", "test", "val")] == [935, 110, 55]


def test_seeded_split_is_reproducible():
    data = [{"instruction": f"q{i}", "input": "", "output": str(i)} for i in range(7)]
    a, b = split(data, seed=3), split(data, seed=3)
    assert a == b and [len(a["train"]), len(a["test"])] == [5, 2]
    assert a["train"] != data[:5]
    assert sorted(e["output"] for part in a.values() for e in part) == [str(i) for i in range(7)]
    with pytest.raises(WorkshopError, match="add up to 1"):
        split(data, train=0.8, test=0.1)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.json", json.dumps([ENTRY, {"instruction": "x", "input": ""}]), "entry 1: missing key 'output'"),
        ("typed.json", json.dumps([{**ENTRY, "output": 3}]), "entry 0: key 'output' must be a string"),
        ("bad.json", '[{"instruction": "x",', "not valid JSON"),
        ("empty.json", "", "file is empty"),
        ("object.json", json.dumps(ENTRY), "expected a JSON list of entries"),
        ("missing.jsonl", json.dumps(ENTRY) + "\n\n" + json.dumps({"input": "", "output": "y"}) + "\n",
         "line 3: missing key 'instruction'"),
        ("bad.jsonl", json.dumps(ENTRY) + "\n{oops\n", "bad.jsonl:2: not valid JSON"),
        ("empty.jsonl", "\n", "file is empty"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(WorkshopError) as e:
        load_instructions(path)
    assert message in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_jsonl_roundtrip_and_missing_input(tmp_path):
    path = write_instructions(tmp_path / "d.jsonl", [ENTRY, {"instruction": "Say hi.", "output": "hi"}])
    assert load_instructions(path) == [ENTRY, {"instruction": "Say hi.", "input": "", "output": "hi"}]


def test_cli_data_split(tmp_path, capsys, instruction_data_path):
    assert main(["data", "split", str(instruction_data_path), "--out-dir", str(tmp_path), "--val", "0.05",
                 "--test", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "train: 935 entries" in out and "test: 110 entries" in out and "val: 55 entries" in out
    assert len(json.loads((tmp_path / "val.json").read_text())) == 55
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files


def test_cli_data_split_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"instruction": "x"}]))
    assert main(["data", "split", str(bad), "--out-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("workshop: error:") and "missing key 'output'" in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_download_checks_sha256_and_fails_offline_in_one_line(tmp_path, instruction_data_path, monkeypatch):
    from workshop.datasets.instructions import download_workshop_data

    monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path / "cache"))
    path = download_workshop_data(tmp_path / "d.json", url=instruction_data_path.resolve().as_uri())
    assert len(load_instructions(path)) == 1100
    with pytest.raises(WorkshopError, match="sha256 differs from the expected"):
        download_workshop_data(tmp_path / "x.json", url=instruction_data_path.resolve().as_uri(), sha256="0" * 64)
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(WorkshopError, match="cannot reach .*missing.json.*offline"):
        download_workshop_data(tmp_path / "y.json", url=(tmp_path / "missing.json").as_uri())
