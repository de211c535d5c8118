"""The project's generated instruction set (reproducible, correct, short) and Tenny's #context/#response data."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from workshop.datasets.generated import SHIPPED_PATH, generate_instructions
from workshop.core.errors import WorkshopError
from workshop.datasets.instructions import load_instructions


def test_shipped_file_is_what_the_generator_writes():
    shipped = load_instructions(SHIPPED_PATH)
    assert shipped == generate_instructions()
    assert len(shipped) == 300 and len({(e["instruction"], e["input"]) for e in shipped}) == 300
    assert generate_instructions(40, seed=1) == generate_instructions(40, seed=1) != generate_instructions(40, seed=2)


def test_answers_are_right_and_short():
    checked = 0
    for e in load_instructions(SHIPPED_PATH):
        q, x, out = e["instruction"], e["input"], e["output"]
        assert len(out.split()) <= 8, out  # well under 30 tokens for any tokenizer
        if m := re.fullmatch(r"(\w+) has (\d+) (\w+) and gets (\d+) more\..*", q):
            assert out == f"{m[1]} has {int(m[2]) + int(m[4])} {m[3]}."
        elif m := re.fullmatch(r"(\w+) had (\d+) (\w+) and gave away (\d+)\..*", q):
            assert out == f"{m[1]} has {int(m[2]) - int(m[4])} {m[3]} left."
        elif m := re.fullmatch(r"A box holds (\d+) (\w+)\. How many \w+ are in (\d+) boxes\?", q):
            assert out == f"There are {int(m[1]) * int(m[3])} {m[2]} in {m[3]} boxes."
        elif q.startswith("Sort the numbers"):
            assert out == ", ".join(map(str, sorted(int(n) for n in x.split(", "))))
        elif q.startswith("Reverse the order"):
            assert out.split(", ") == x.split(", ")[::-1]
        elif q.startswith("Write the date"):
            assert out == date.fromisoformat(x).strftime("%B %-d, %Y")
        elif q.startswith("Rewrite the text in capital"):
            assert out == x.upper()
        else:
            continue
        checked += 1
    assert checked >= 200


def test_tenny_jsonl_roundtrips_the_text(tmp_path, tiny_checkpoint_dir):
    from litgpt import Tokenizer

    from workshop.datasets.tenny import ContextResponse, TennyJSONL

    texts = ["#context\n\nWho are you?\n\n#response\n\nI'm Tenny, a tensor with attitude.",
             "#context\n\nWhat is 2+2?\n\n#response\n\n4, obviously."]
    for name in ("train", "valid"):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    data = TennyJSONL(json_path=tmp_path, num_workers=0)
    train, valid = data.get_splits()
    assert [ContextResponse().apply(e["instruction"]) + e["output"] for e in train] == texts
    tokenizer = Tokenizer(tiny_checkpoint_dir)
    data.connect(tokenizer, batch_size=2, max_seq_length=64)
    data.setup()
    item = data.train_dataset[0]
    assert item["input_ids"][-1] == tokenizer.eos_id
    assert tokenizer.decode(item["input_ids"][:-1]) == texts[0]
    batch = next(iter(data.val_dataloader()))
    assert batch["input_ids"].shape[0] == 2


def test_tenny_bad_line_names_file_and_line(tmp_path):
    from workshop.datasets.tenny import read_tenny_jsonl

    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"text": "#context\n\nq\n\n#response\n\na"}) + "\n" + json.dumps({"text": "no markers"}))
    with pytest.raises(WorkshopError, match=r"train\.jsonl: line 2: 'text' must look like"):
        read_tenny_jsonl(path)
    path.write_text(json.dumps({"prompt": "x"}))
    with pytest.raises(WorkshopError, match="line 1: missing key 'text'"):
        read_tenny_jsonl(path)
