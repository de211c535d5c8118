"""The contract of `workshop.finetune.loop`: on the same seed, data and recipe it trains exactly as LitGPT's
unmodified `litgpt.finetune.lora.setup` does: the same per-step losses, LR schedule and validation losses,
and the same final LoRA weights."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import litgpt.finetune.lora as litgpt_lora
import torch
import yaml
from litgpt.args import EvalArgs, TrainArgs
from litgpt.data import JSON

from workshop.core.paths import DATA_DIR
from workshop.finetune.run import run_finetune

DATA = DATA_DIR / "instructions" / "instruction-data.json"


def recipe(checkpoint_dir: Path, out_dir: Path) -> dict:
    """6 optimizer steps of 2 accumulated micro-batches, LoRA dropout on, validation and a sampled example every
    2 steps (short enough to be generated: it draws from the RNG), a LoRA folder every 3 steps."""
    return {
        "checkpoint_dir": checkpoint_dir, "out_dir": out_dir, "precision": "32-true", "lora_r": 4, "lora_alpha": 8,
        "lora_dropout": 0.1, "lora_mlp": True, "seed": 7, "logger_name": "csv",
        "data": JSON(json_path=DATA, val_split_fraction=0.05, num_workers=0),
        "train": TrainArgs(max_steps=6, epochs=1, micro_batch_size=2, global_batch_size=4, lr_warmup_steps=2,
                           save_interval=3, log_interval=1),
        "eval": EvalArgs(interval=2, max_iters=2, max_new_tokens=4),
    }


def litgpt_config(kwargs: dict, path: Path) -> Path:
    """The same recipe as a LitGPT config file: `save_hyperparameters` reads the command line (sys.argv)."""
    data = kwargs["data"]
    config = {k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items() if k not in ("data", "train", "eval")}
    config["data"] = {"class_path": "litgpt.data.JSON", "init_args": {
        "json_path": str(data.json_path), "val_split_fraction": data.val_split_fraction, "num_workers": 0}}
    config["train"], config["eval"] = vars(kwargs["train"]), vars(kwargs["eval"])
    path.write_text(yaml.safe_dump(config))
    return path


def train_rows(out_dir: Path) -> list[dict[str, float]]:
    (metrics,) = (out_dir / "logs" / "csv").glob("version_*/metrics.csv")
    with open(metrics, newline="") as f:
        return [{k: float(v) for k, v in row.items() if k in ("iter", "step", "loss", "learning_rate", "val_loss") and v}
                for row in csv.DictReader(f) if row.get("loss") or row.get("val_loss")]


def lora(out_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(out_dir / "final" / "lit_model.pth.lora", weights_only=True)["model"]


def test_the_loop_trains_exactly_as_litgpts_finetune_lora(tiny_checkpoint_dir, tmp_path, monkeypatch, capsys):
    ours, theirs = recipe(tiny_checkpoint_dir, tmp_path / "ours"), recipe(tiny_checkpoint_dir, tmp_path / "litgpt")
    monkeypatch.setattr(sys, "argv", ["litgpt", "--config", str(litgpt_config(theirs, tmp_path / "litgpt.yaml"))])
    litgpt_lora.setup(**theirs)
    assert "Skipping example generation" not in capsys.readouterr().out  # the example is sampled (RNG draws)
    monkeypatch.setattr(sys, "argv", ["litgpt", "--config", str(litgpt_config(ours, tmp_path / "ours.yaml"))])
    run_finetune(ours, ours["out_dir"], recipe_hash="fidelity")
    assert "Skipping example generation" not in (ours["out_dir"] / "train.log").read_text()

    a, b = train_rows(ours["out_dir"]), train_rows(theirs["out_dir"])
    losses = [(r["iter"], r["step"], r["learning_rate"]) for r in a if "loss" in r]
    assert losses == [(r["iter"], r["step"], r["learning_rate"]) for r in b if "loss" in r]
    assert [r[0] for r in losses] == list(range(1, 13))  # every micro-batch of the 6 steps logged once
    loss_diff = max(abs(x["loss"] - y["loss"]) for x, y in zip(a, b) if "loss" in x)
    val = lambda rows: [(r.get("iter"), r["val_loss"]) for r in rows if "val_loss" in r]  # noqa: E731
    assert len(val(a)) == len(val(b)) == 4  # steps 2, 4, 6 and the final validation
    val_diff = max(abs(x[1] - y[1]) for x, y in zip(val(a), val(b)))
    wa, wb = lora(ours["out_dir"]), lora(theirs["out_dir"])
    assert set(wa) == set(wb) and len(wa) > 0
    weight_diff = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
    moved = max(float(wa[k].abs().max()) for k in wa if "lora_B" in k)  # lora_B starts at 0: it trained
    print(f"\nper-step loss max |diff| {loss_diff:.3g}, val loss {val_diff:.3g}, LoRA weights {weight_diff:.3g} "
          f"over {len(wa)} tensors (largest lora_B entry {moved:.3g})")
    assert loss_diff <= 1e-6 and val_diff <= 1e-6 and weight_diff <= 1e-6 and moved > 1e-3
    for out in (ours["out_dir"], theirs["out_dir"]):  # the same layout: LoRA folders, merged final checkpoint
        assert sorted(p.name for p in out.glob("step-*")) == ["step-000003", "step-000006"]
        assert (out / "final" / "lit_model.pth").is_file() and (out / "final" / "hyperparameters.yaml").is_file()
