"""`workshop run` for real: finetune_lora on a tiny checkpoint (fast), the SmolLM2 recipe lowering val loss (slow)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from litgpt.generate.base import generate as litgpt_generate

import workshop
from workshop.cli.main import main
from workshop.core.paths import DATA_DIR, RECIPES_DIR
from workshop.run.recipes import RECORD, is_done, load_recipe, run_job, validate


def tiny_recipe(checkpoint_dir: Path, out_dir: Path) -> dict:
    """finetune_lora for 3 steps of 2 short examples on the project's instruction data."""
    return {
        "job": "finetune_lora",
        "checkpoint_dir": str(checkpoint_dir),
        "out_dir": str(out_dir),
        "lora_r": 4,
        "lora_alpha": 8,
        "data": {"class_path": "JSON", "init_args": {
            "json_path": str(DATA_DIR / "instructions" / "instruction-data.json"),
            "val_split_fraction": 0.05, "num_workers": 0}},
        "train": {"max_steps": 3, "micro_batch_size": 2, "global_batch_size": 2, "lr_warmup_steps": 1,
                  "max_seq_length": 48, "save_interval": None},
        "eval": {"interval": 2, "max_iters": 2, "max_new_tokens": 4},
        "logger_name": "csv",
    }


def val_losses(out_dir: Path) -> list[float]:
    """val_loss values in LitGPT's CSV log (latest run), in logging order."""
    metrics = sorted((out_dir / "logs" / "csv").glob("version_*/metrics.csv"))[-1]
    with open(metrics, newline="") as f:
        return [float(row["val_loss"]) for row in csv.DictReader(f) if row.get("val_loss")]


@pytest.fixture(scope="module")
def finetuned(tiny_checkpoint_dir, tmp_path_factory) -> tuple[Path, Path]:
    """A 3-step LoRA run through the CLI, in-process: (recipe path, out_dir)."""
    tmp = tmp_path_factory.mktemp("lora")
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe(tiny_checkpoint_dir, tmp / "out")))
    assert main(["run", str(path)]) == 0
    return path, tmp / "out"


def test_finetune_writes_lora_and_merged_checkpoint(finetuned, tiny_checkpoint_dir):
    _, out_dir = finetuned
    final = out_dir / "final"
    lora = torch.load(final / "lit_model.pth.lora", weights_only=True)
    lora = lora.get("model", lora)
    assert lora and all("lora_" in k for k in lora)
    assert lora["transformer.h.0.attn.qkv.lora_A"].shape[0] == 4 * 2  # r=4, query and value
    merged = torch.load(final / "lit_model.pth", weights_only=True)
    base = torch.load(tiny_checkpoint_dir / "lit_model.pth", weights_only=True)
    assert set(merged) == set(base)
    assert not torch.equal(merged["transformer.h.0.attn.qkv.weight"], base["transformer.h.0.attn.qkv.weight"])
    assert torch.equal(merged["transformer.wte.weight"], base["transformer.wte.weight"])  # frozen
    hparams = yaml.safe_load((final / "hyperparameters.yaml").read_text())
    assert hparams["lora_r"] == 4 and hparams["train"]["max_steps"] == 3  # LitGPT saw our arguments
    assert len(val_losses(out_dir)) >= 2  # step 2 and the final validation

    model = workshop.load(final)
    assert type(model.prompt_style).__name__ == "Alpaca"
    question = "Sort the numbers from smallest to largest."
    ids = model.encode(model.chat_prompt(question))
    model.model.set_kv_cache(batch_size=1, max_seq_length=len(ids) + 5, device=model.device)
    reference = litgpt_generate(model.model, torch.tensor(ids), len(ids) + 5, temperature=0.0,
                                eos_id=model.tokenizer.eos_id)[len(ids):].tolist()  # LitGPT's own greedy decoding
    model.model.clear_kv_cache()
    reference = reference[: reference.index(model.tokenizer.eos_id)] if model.tokenizer.eos_id in reference else reference
    assert model.generate(question, max_new_tokens=5) == model.decode(reference).strip()


def test_finished_run_is_reused_until_the_recipe_changes(finetuned, capsys):
    path, out_dir = finetuned
    recipe = load_recipe(path)
    stamp = (out_dir / "final" / "lit_model.pth").stat().st_mtime_ns
    assert run_job(recipe, path=path) == out_dir
    assert "reusing it" in capsys.readouterr().out
    assert (out_dir / "final" / "lit_model.pth").stat().st_mtime_ns == stamp
    record = json.loads((out_dir / "final" / RECORD).read_text())
    assert record["recipe"]["train"]["max_steps"] == 3
    assert is_done(validate(recipe, path))
    recipe["train"]["max_steps"] = 4
    assert not is_done(validate(recipe, path))


def test_merge_lora_job_rebuilds_the_merged_weights(finetuned, tiny_checkpoint_dir, tmp_path):
    _, out_dir = finetuned
    copy = shutil.copytree(out_dir / "final", tmp_path / "final")
    (copy / "lit_model.pth").unlink()
    run_job({"job": "merge_lora", "checkpoint_dir": str(copy), "pretrained_checkpoint_dir": str(tiny_checkpoint_dir)})
    a = torch.load(copy / "lit_model.pth", weights_only=True)
    b = torch.load(out_dir / "final" / "lit_model.pth", weights_only=True)
    assert all(torch.allclose(a[k], b[k]) for k in b)


def test_generate_job(finetuned, capsys):
    _, out_dir = finetuned
    run_job({"job": "generate", "checkpoint_dir": str(out_dir / "final"), "prompt": "Hi", "max_new_tokens": 3,
             "temperature": 0.0, "top_k": 1})
    assert "Below is an instruction" in capsys.readouterr().out  # LitGPT printed the Alpaca-formatted prompt


@pytest.mark.slow
def test_smollm2_recipe_lowers_validation_loss(smollm2_dir, tmp_path):
    out_dir = tmp_path / "smollm2-lora"
    args = ["run", str(RECIPES_DIR / "finetune" / "smollm2-135m-lora.yaml"), "--set", f"checkpoint_dir={smollm2_dir}",
            "--set", f"out_dir={out_dir}", "--set", "train.max_steps=16", "--set", "eval.interval=4"]
    assert main(args) == 0
    losses = val_losses(out_dir)
    assert len(losses) >= 3
    assert losses[-1] < 0.8 * losses[0], losses  # after 4 steps vs after 16: the answers' format is learned
    model = workshop.load(out_dir / "final")
    prompt = model.prompt_style.apply("Give the plural form of the word.", input="goose")
    assert model.generate(prompt, chat=False, max_new_tokens=20).startswith('The plural of "goose" is')
