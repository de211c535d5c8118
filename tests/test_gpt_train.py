"""Pretraining (section 4): the book's train_model_simple as written, train_model's losses fall, its checkpoints
(model.pth apart from the resume state) resume exactly, the last val loss is the final step's, schedule, autocast."""

from __future__ import annotations

import inspect
import json
import math

import pytest
import torch

from workshop.core.errors import WorkshopError
from workshop.gpt.checkpoint import MODEL_NAME, STATE_NAME, load_model
from workshop.gpt.data import DEFAULT_CORPUS, create_dataloader_v1, train_val_loaders
from workshop.gpt.model import GPT_CONFIG_124M, GPTModel
from workshop.gpt.plots import plot_losses
from workshop.gpt.tokenizer import gpt2_tokenizer
from workshop.gpt.train import calc_loss_loader, train_model_simple
from workshop.gpt.trainer import autocast_context, lr_at_step, train_model

TINY = {**GPT_CONFIG_124M, "context_length": 32, "emb_dim": 32, "n_heads": 2, "n_layers": 1, "drop_rate": 0.0}


def tiny_run(text: str, out_dir=None, seed: int = 123, cfg=TINY, **kwargs):
    """Build loaders, model and optimizer as the workshop does, then train."""
    train_loader, val_loader = train_val_loaders(text, batch_size=8, max_length=32, stride=32)
    torch.manual_seed(seed)
    model = GPTModel(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=kwargs.pop("lr", 1e-2), weight_decay=0.1)
    options = {"num_epochs": 2, "eval_freq": 5, "eval_iter": 2, "progress": False, **kwargs}
    curves = train_model(
        model, train_loader, val_loader, optimizer, "cpu", start_context="Every effort moves you",
        tokenizer=gpt2_tokenizer(), out_dir=out_dir, **options,
    )
    return model, curves


@pytest.fixture(scope="module")
def verdict_run(verdict_text, tmp_path_factory):
    """One 2-epoch run on the-verdict with warmup, cosine decay and clipping, shared by the tests below."""
    out_dir = tmp_path_factory.mktemp("verdict-run")
    model, curves = tiny_run(verdict_text, out_dir, eval_freq=6, warmup_steps=3, min_lr=1e-3, grad_clip=1.0)
    return model, curves, out_dir


def test_training_lowers_val_loss(verdict_run):
    _, (train_losses, val_losses, tokens_seen), _ = verdict_run
    assert abs(val_losses[0] - math.log(50257)) < 0.5  # an untrained model is a uniform guess
    assert val_losses[-1] < val_losses[0] - 3.0
    assert train_losses[-1] < train_losses[0] - 3.0
    # 18 batches of [8, 32] per epoch, 36 steps: evaluated every 6 steps and after the last one (step 35)
    assert tokens_seen == [8 * 32 * (step + 1) for step in [*range(0, 36, 6), 35]]


def test_run_writes_weights_state_metrics_and_samples(verdict_run):
    model, (_, val_losses, _), out_dir = verdict_run
    metrics = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["val_loss"] for m in metrics] == val_losses
    assert [m["step"] for m in metrics] == [0, 6, 12, 18, 24, 30, 35]  # the last line is the final step's
    assert metrics[-1]["val_ppl"] == pytest.approx(math.exp(val_losses[-1]))
    assert metrics[-1]["tokens_per_sec"] > 0
    lrs = [m["lr"] for m in metrics]  # warmup from 1e-2 / 3, then cosine decay towards 1e-3
    assert lrs[0] == pytest.approx(1e-2 / 3) and lrs[1] == pytest.approx(lr_at_step(6, 36, 1e-2, 3, 1e-3))
    assert lrs[1:] == sorted(lrs[1:], reverse=True)
    samples = [json.loads(line) for line in (out_dir / "samples.jsonl").read_text().splitlines()]
    assert [s["epoch"] for s in samples] == [1, 2] and samples[0]["text"].startswith("Every effort moves you")

    weights = torch.load(out_dir / MODEL_NAME, weights_only=True)  # the workshop's torch.save(model.state_dict())
    assert set(weights) == set(model.state_dict()) and torch.equal(weights["out_head.weight"], model.out_head.weight)
    state = torch.load(out_dir / STATE_NAME, weights_only=True)
    assert "model" not in state and state["state"]["global_step"] == 2 * 18 - 1  # steps count from 0
    assert set(state["optimizer"]["state"]) == set(range(len(list(model.parameters()))))
    (out_dir / "config.json").write_text(json.dumps({"model": TINY}))
    rebuilt = load_model(out_dir)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in rebuilt.state_dict().items())


def test_resume_continues_at_saved_step(tmp_path):
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")[:6000]
    cfg = {**TINY, "drop_rate": 0.1}  # dropout and shuffling: resume must restore the RNG too
    full_model, full = tiny_run(text, cfg=cfg, eval_freq=3)
    _, first = tiny_run(text, tmp_path, cfg=cfg, eval_freq=3, max_steps=6)  # stops in epoch 2 (4 batches each)
    assert torch.load(tmp_path / STATE_NAME, weights_only=True)["state"]["global_step"] == 5
    resumed_model, resumed = tiny_run(text, tmp_path, seed=999, cfg=cfg, eval_freq=3, resume=True)
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(first[0]) == 3 and len(full[0]) == 4  # evaluations at 0, 3, then 5 (the stop) vs 0, 3, 6, 7 (the end)
    assert [c[:2] + c[3:] for c in resumed] == list(full)  # the same curves, plus the stop's evaluation at step 5
    assert steps == [0, 3, 5, 6, 7]
    for name, tensor in full_model.state_dict().items():
        assert torch.equal(tensor, resumed_model.state_dict()[name]), name
    (tmp_path / MODEL_NAME).write_bytes((tmp_path / MODEL_NAME).read_bytes())  # model.pth newer than its state
    with pytest.raises(WorkshopError, match="belongs to another .*model.pth"):
        tiny_run(text, tmp_path, cfg=cfg, eval_freq=3, resume=True, num_epochs=3)


def test_train_model_simple_is_the_books(capsys):
    """The book's signature and printout; same losses as train_model with no additions (same seed)."""
    assert list(inspect.signature(train_model_simple).parameters) == [
        "model", "train_loader", "val_loader", "optimizer", "device", "num_epochs", "eval_freq", "eval_iter",
        "start_context", "tokenizer"]
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")[:3000]
    curves = []
    for train in (train_model_simple, train_model):
        train_loader, val_loader = train_val_loaders(text, batch_size=4, max_length=32, stride=32)
        torch.manual_seed(123)
        model = GPTModel({**TINY, "drop_rate": 0.1})
        optimizer = torch.optim.AdamW(model.parameters(), lr=4e-4, weight_decay=0.1)
        extra = {"progress": False} if train is train_model else {}
        curves.append(train(model, train_loader, val_loader, optimizer, "cpu", 2, 2, 1, "Every effort", gpt2_tokenizer(),
                            **extra))
    book, ours = curves
    n = len(book[0])
    assert [c[:n] for c in ours] == list(book)  # train_model adds only the final step's evaluation
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Ep 1 (Step 000000): Train loss {book[0][0]:.3f}, Val loss {book[1][0]:.3f}"
    assert sum(line.startswith("Every effort") for line in lines) == 2 * 2  # a sample per epoch, from each


def test_lr_schedule():
    lrs = [lr_at_step(s, total_steps=20, peak_lr=1.0, warmup_steps=4, min_lr=0.1) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert lrs[4] == 1.0 and lrs[-1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 15 / 16)))
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))
    assert lr_at_step(7, 20, peak_lr=0.5) == 0.5


def test_bf16_autocast_path_on_cpu():
    assert type(autocast_context(torch.device("cpu"), "auto")).__name__ == "nullcontext"
    with pytest.raises(WorkshopError, match="precision 'fp8'"):
        autocast_context(torch.device("cpu"), "fp8")
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")[:6000]
    _, (train_losses, _, _) = tiny_run(text, max_steps=3, eval_freq=2, eval_iter=1, precision="bf16-mixed")
    assert len(train_losses) == 2 and train_losses[1] < train_losses[0] - 0.5


def test_calc_loss_loader_batches():
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")[:1200]
    loader = create_dataloader_v1(text, batch_size=2, max_length=16, stride=16, shuffle=False)
    torch.manual_seed(0)
    model = GPTModel({**TINY, "context_length": 16}).eval()
    with torch.no_grad():
        first_two = calc_loss_loader(loader, model, "cpu", num_batches=2)
        assert calc_loss_loader(loader, model, "cpu", num_batches=10_000) == pytest.approx(calc_loss_loader(loader, model, "cpu"))
    assert 9.5 < first_two < 12.0
    empty = create_dataloader_v1(text, batch_size=10_000, max_length=16, stride=16, drop_last=True)
    assert len(empty) == 0 and math.isnan(calc_loss_loader(empty, model, "cpu"))
    with pytest.raises(WorkshopError, match="too few tokens for one window of max_length=16"):
        create_dataloader_v1("too short", batch_size=2, max_length=16, stride=16)


def test_plot_losses_png(tmp_path):
    path = plot_losses([0, 0.5, 1.0], [0, 512, 1024], [10.9, 7.0, 5.5], [10.9, 7.5, 6.5], tmp_path / "plots" / "losses.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


@pytest.mark.slow
def test_workshop_section4_numbers(verdict_text):
    """GPT-2 124M at context 256, seed 123, reproduces the workshop's initial and first training losses."""
    torch.manual_seed(123)
    train_loader, val_loader = train_val_loaders(verdict_text, batch_size=2, max_length=256, stride=256)
    torch.manual_seed(123)
    model = GPTModel({**GPT_CONFIG_124M, "context_length": 256}).eval()
    torch.manual_seed(123)
    with torch.no_grad():
        assert calc_loss_loader(train_loader, model, "cpu") == pytest.approx(10.98758347829183, abs=1e-4)
        assert calc_loss_loader(val_loader, model, "cpu") == pytest.approx(10.98110580444336, abs=1e-4)

    torch.manual_seed(123)
    model = GPTModel({**GPT_CONFIG_124M, "context_length": 256})
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)
    train_losses, val_losses, tokens_seen = train_model(
        model, train_loader, val_loader, optimizer, "cpu", num_epochs=10, eval_freq=5, eval_iter=5,
        start_context="Every effort moves you", tokenizer=gpt2_tokenizer(), max_steps=6, progress=False,
    )
    # the workshop's log: "Ep 1 (Step 000000): Train loss 9.781, Val loss 9.933", "(Step 000005): ... 8.111, ... 8.339"
    assert train_losses[:2] == pytest.approx([9.781, 8.111], abs=2e-3)
    assert val_losses[:2] == pytest.approx([9.933, 8.339], abs=2e-3)
    assert tokens_seen[:2] == [512, 3072]


@pytest.mark.slow
def test_the_verdict_preset_is_the_workshops_run(verdict_text, tmp_path):
    """`workshop gpt pretrain --config the-verdict` trains as section 4 does: the workshop's first losses."""
    from workshop.gpt.config import load_pretrain_config
    from workshop.gpt.pretrain import pretrain

    config = load_pretrain_config("the-verdict")
    text = tmp_path / "the-verdict.txt"
    text.write_text(verdict_text, encoding="utf-8")
    config.data.text = str(text)
    result = pretrain(config, tmp_path / "out", device="cpu", max_steps=6, progress=False)
    assert result.train_losses[:2] == pytest.approx([9.781, 8.111], abs=2e-3)  # the workshop's log, as above
    assert result.val_losses[:2] == pytest.approx([9.933, 8.339], abs=2e-3)
