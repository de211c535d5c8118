"""Label-word classifiers: the finetuning examples are `eval classify`'s prompts with the label word as the only
target; the converter; a tiny pipeline before -> LoRA -> after whose step outputs are what the report pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from litgpt.data import SFTDataset
from litgpt.prompts import Default
from litgpt.tokenizer import Tokenizer

from workshop.cli.main import main
from workshop.datasets.label_prompts import build_prompt, label_tokens, load_template
from workshop.datasets.labels import LabelWordDataset, LabelWords, label_examples
from workshop.run.recipes import validate

ROWS = [("The dog runs fast.", "1"), ("The dogs runs fast.", "0"), ("A cat sleeps.", "1"), ("Cat a sleeps.", "0"),
        ("The birds sing.", "1"), ("The bird sing.", "0"), ("We eat apples.", "1"), ("Apples we eat the.", "0")]


@pytest.fixture
def tsv(tmp_path) -> Path:
    path = tmp_path / "train.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in ROWS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tokenizer(tiny_checkpoint_dir) -> Tokenizer:
    return Tokenizer(tiny_checkpoint_dir)


def test_examples_are_the_classify_prompts(tsv):
    template = load_template("cola")
    examples = label_examples(tsv, "acceptable,unacceptable", prompt="cola", quote_labels=True)
    assert [(e["index"], e["text"], e["output"]) for e in examples] == [
        (i, s, "acceptable" if y == "1" else "unacceptable") for i, (s, y) in enumerate(ROWS)]
    for e in examples:
        assert e["instruction"] == build_prompt(template, ["acceptable", "unacceptable"], [], e["text"], quote=True)
    with_shots = label_examples(tsv, "acceptable,unacceptable", prompt="cola", shots=2, seed=3)
    assert len(with_shots) == 6  # the two rows shown as shots are not trained on
    shown = {s for s, _ in ROWS} - {e["text"] for e in with_shots}
    assert all(all(f"{s} - " in e["instruction"] for s in shown) for e in with_shots)


def test_only_the_label_word_is_a_target(tsv, tokenizer):
    examples = label_examples(tsv, "acceptable,unacceptable", prompt="cola")
    dataset = LabelWordDataset(examples, tokenizer)
    for example, item in zip(examples, dataset):
        whole = tokenizer.encode(example["instruction"] + example["output"]).tolist()  # the text as one string
        context = tokenizer.encode(example["instruction"].rstrip(" ")).tolist()
        assert item["input_ids"].tolist() == whole and whole[: len(context)] == context
        labels = item["labels"].tolist()
        assert labels[: len(context)] == [-100] * len(context)  # the prompt is masked
        assert labels[len(context):] == whole[len(context):] == tokenizer.encode(" " + example["output"], bos=False).tolist()
        assert whole[-1] != tokenizer.eos_id  # no EOS: the label word alone
        encode = lambda text, bos=None: tokenizer.encode(text, bos=bos).tolist()  # noqa: E731
        _, firsts = label_tokens(encode, example["instruction"], ["acceptable", "unacceptable"])
        assert labels[len(context)] == firsts[["acceptable", "unacceptable"].index(example["output"])]  # what classify scores


def test_label_words_datamodule_feeds_litgpt(tsv, tokenizer, tiny_checkpoint_dir, tmp_path):
    data = LabelWords(train_path=tsv, labels="acceptable,unacceptable", prompt="cola", val_split_fraction=0.25, seed=1)
    data.connect(tokenizer=tokenizer, batch_size=3, max_seq_length=64)
    data.setup()
    train_texts = {e["text"] for e in data.train_dataset.data}
    val_texts = {e["text"] for e in data.test_dataset.data}
    assert len(val_texts) == 2 and not train_texts & val_texts and train_texts | val_texts == {s for s, _ in ROWS}
    batch = next(iter(data.train_dataloader()))
    assert batch["input_ids"].shape[0] == 3 and batch["labels"].shape == batch["input_ids"].shape
    assert set(batch["token_counts"]) == {"raw", "raw_plus_prompt_template"}
    assert (batch["labels"] != -100).sum(1).min() >= 1  # every row has its label word
    assert isinstance(data.prompt_style, Default)  # LitGPT's example generation uses the prompt as is
    recipe = {"job": "finetune_lora", "checkpoint_dir": str(tiny_checkpoint_dir), "out_dir": str(tmp_path),
              "data": {"class_path": "workshop.datasets.labels.LabelWords",
                       "init_args": {"train_path": str(tsv), "labels": "acceptable,unacceptable", "shots": -1}}}
    from workshop.core.errors import WorkshopError

    with pytest.raises(WorkshopError, match="shots"):  # LitGPT's parser checks our init_args' types
        validate(recipe)
    with pytest.raises(WorkshopError, match="row 1 needs"):
        LabelWordDataset(label_examples(tsv, "acceptable,unacceptable", prompt="cola"), tokenizer, max_seq_length=8)


def test_classify_to_instructions_for_litgpts_json(tsv, tokenizer, tmp_path, capsys):
    out = tmp_path / "cola.json"
    assert main(["data", "classify-to-instructions", str(tsv), "--out", str(out), "--prompt", "cola"]) == 0
    assert f"wrote 8 entries -> {out}" in capsys.readouterr().out
    entries = json.loads(out.read_text())
    examples = label_examples(tsv, "acceptable,unacceptable", prompt="cola")
    assert [e["instruction"] + e["output"] for e in entries] == [e["instruction"] + e["output"] for e in examples]
    sft = SFTDataset(entries, tokenizer, prompt_style=Default(), mask_prompt=True)  # LitGPT's own JSON path
    ours = LabelWordDataset(examples, tokenizer)
    for theirs, mine in zip(sft, ours):
        assert theirs["input_ids"].tolist() == mine["input_ids"].tolist() + [tokenizer.eos_id]  # LitGPT adds EOS
        assert theirs["labels"].tolist()[:-1] == mine["labels"].tolist()


def test_classify_pipeline_outputs_follow_the_contract(tsv, tiny_checkpoint_dir, tmp_path):
    from workshop.run.pipeline import run_pipeline

    recipe = {"name": "c", "vars": {"model": str(tiny_checkpoint_dir), "data": str(tsv)}, "steps": [
        {"name": "before", "uses": "classify", "with": {"model_dir": "${vars.model}", "data": "${vars.data}",
                                                        "labels": "acceptable,unacceptable", "prompt": "cola", "shots": 0}},
        {"name": "finetune", "uses": "finetune_lora", "with": {
            "checkpoint_dir": "${vars.model}", "lora_r": 2, "lora_alpha": 4,
            "data": {"class_path": "workshop.datasets.labels.LabelWords",
                     "init_args": {"train_path": "${vars.data}", "prompt": "cola", "val_split_fraction": 0.25}},
            "train": {"max_steps": 2, "micro_batch_size": 2, "global_batch_size": 2, "lr_warmup_steps": 1,
                      "save_interval": 1},
            "eval": {"interval": 1, "max_iters": 1, "max_new_tokens": 2}, "logger_name": "csv"}},
        {"name": "after", "uses": "classify", "with": {"model_dir": "${finetune.checkpoint}", "data": "${vars.data}",
                                                       "labels": "acceptable,unacceptable", "prompt": "cola", "shots": 0,
                                                       "compare_to": "${before.results}"}}]}
    outputs = run_pipeline(recipe, out_dir=tmp_path / "run")
    for name in ("before", "after"):
        assert outputs[name] == {"results": str(tmp_path / "run" / name / "classify.json")}
        result = json.loads(Path(outputs[name]["results"]).read_text())
        assert {"n", "shots", "prompt", "labels", "accuracy", "mcc", "confusion_matrix", "per_item"} <= set(result)
        assert [i["index"] for i in result["per_item"]] == list(range(8)) and result["n"] == 8
    assert set(outputs["finetune"]) == {"checkpoint", "out_dir", "metrics"}
    metrics = Path(outputs["finetune"]["metrics"])
    assert metrics.name == "metrics.csv" and "val_loss" in metrics.read_text().splitlines()[0]
    after = json.loads(Path(outputs["after"]["results"]).read_text())
    assert after["paired"]["n"] == 8 and after["paired"]["baseline"] == outputs["before"]["results"]
    weights = torch.load(Path(outputs["finetune"]["checkpoint"]) / "lit_model.pth.lora", weights_only=True)["model"]
    assert weights and all("lora_" in k for k in weights)


def test_cola_llama_recipe_resolves_and_dry_run_names_what_is_missing(tmp_path, monkeypatch, capsys):
    from workshop.core.paths import RECIPES_DIR
    from workshop.run.recipes import load_recipe

    path = RECIPES_DIR / "finetune" / "cola-label-words-lora.yaml"
    r = validate(load_recipe(path), path, check_files=False)  # LitGPT's parser resolves it (its defaults filled in)
    assert (r["quantize"], r["precision"], r["checkpoint_dir"]) == ("bnb.nf4", "bf16-true", "checkpoints/meta-llama/Meta-Llama-3.1-8B")
    assert r["data"]["class_path"] == "workshop.datasets.labels.LabelWords"
    args = r["data"]["init_args"]
    assert (args["prompt"], args["quote_labels"], args["shots"], args["labels"]) == ("pattern", True, 0,
                                                                                    "acceptable,unacceptable")
    assert (args["train_path"], args["val_path"]) == ("data/cola/in_domain_train.tsv", "data/cola/in_domain_dev.tsv")
    assert r["train"]["max_seq_length"] == 96 and r["train"]["min_lr"] == 6e-05  # LitGPT's TrainArgs default filled in
    assert r["eval"]["evaluate_example"] == "first" and r["lora_r"] == 16
    monkeypatch.chdir(tmp_path)  # no checkpoint, no data/cola here
    assert main(["run", str(path), "--dry-run"]) == 2
    out, err = capsys.readouterr()
    assert "quantize: bnb.nf4" in out and "class_path: workshop.datasets.labels.LabelWords" in out
    assert ("checkpoint_dir: meta-llama/Meta-Llama-3.1-8B is not downloaded yet (looked in "
            "checkpoints/meta-llama/Meta-Llama-3.1-8B); run `workshop download meta-llama/Meta-Llama-3.1-8B`") in err
