"""Pretraining loop of workshop section 4, plus what a real run needs.

`train_model_simple` keeps the workshop's semantics (evaluate every `eval_freq` steps on
`eval_iter` batches, print a sample after each epoch, return the loss curves) and adds,
all optional: a tqdm bar with tokens/s, bf16 autocast, linear warmup + cosine decay,
gradient clipping, checkpoints with exact resume, and metrics/samples as JSONL.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from workshop.device import resolve_precision
from workshop.errors import WorkshopError
from workshop.gpt.checkpoint import CHECKPOINT_NAME, TrainState, resume_checkpoint, save_checkpoint
from workshop.gpt.generate import generate, text_to_token_ids, token_ids_to_text
from workshop.io import AppendLog, atomic_write_jsonl

PRECISIONS = ("auto", "32-true", "bf16-mixed")


def calc_loss_batch(input_batch, target_batch, model, device) -> torch.Tensor:
    """Mean cross-entropy of the next-token predictions for one batch."""
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)  # (b, num_tokens, vocab_size)
    return F.cross_entropy(logits.flatten(0, 1), target_batch.flatten())


def calc_loss_loader(data_loader, model, device, num_batches: int | None = None) -> float:
    """Average batch loss over the first `num_batches` batches (all by default); nan if empty."""
    if len(data_loader) == 0:
        return float("nan")
    num_batches = len(data_loader) if num_batches is None else min(num_batches, len(data_loader))
    total_loss = 0.0
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i >= num_batches:
            break
        total_loss += calc_loss_batch(input_batch, target_batch, model, device).item()
    return total_loss / num_batches


def evaluate_model(model, train_loader, val_loader, device, eval_iter: int) -> tuple[float, float]:
    """Train and validation loss on `eval_iter` batches each, in eval mode without gradients."""
    model.eval()
    with torch.no_grad():
        train_loss = calc_loss_loader(train_loader, model, device, num_batches=eval_iter)
        val_loss = calc_loss_loader(val_loader, model, device, num_batches=eval_iter)
    model.train()
    return train_loss, val_loss


def perplexity_of_loss(loss: float) -> float:
    """exp(loss): the effective number of tokens the model hesitates between."""
    return math.exp(min(loss, 700.0))


def generate_sample(model, tokenizer, device, start_context: str, max_new_tokens: int = 50) -> str:
    """Greedy continuation of `start_context` (the workshop's per-epoch sample), newlines flattened."""
    model.eval()
    context_size = model.pos_emb.weight.shape[0]
    encoded = text_to_token_ids(start_context, tokenizer).to(device)
    token_ids = generate(model, encoded, max_new_tokens, context_size)  # greedy, KV-cached
    model.train()
    return token_ids_to_text(token_ids, tokenizer).replace("\n", " ")


def lr_at_step(step: int, total_steps: int, peak_lr: float, warmup_steps: int = 0, min_lr: float | None = None) -> float:
    """Linear warmup to `peak_lr`, then cosine decay to `min_lr` (constant when `min_lr` is None)."""
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    if min_lr is None:
        return peak_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def autocast_context(device: torch.device, precision: str = "auto"):
    """bf16 autocast for "bf16-mixed" ("auto" picks it on bf16-capable GPUs), else a no-op."""
    if precision not in PRECISIONS:
        raise WorkshopError(f"precision {precision!r} is not known for training; use one of: {', '.join(PRECISIONS)}")
    precision = resolve_precision(precision, device, training=True)
    if precision == "bf16-mixed":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _keep_until(log: AppendLog, step: int) -> None:
    """Drop log records written after `step` (by a run killed after its last checkpoint)."""
    records = log.records()
    if any(r.get("step", -1) > step for r in records):
        atomic_write_jsonl(log.path, [r for r in records if r.get("step", -1) <= step])


def _epoch_batches(train_loader, state: TrainState, skip: int):
    """This epoch's batches; after a resume, replay the epoch's shuffle and skip `skip` trained batches."""
    if not skip:
        state.epoch_rng_state = torch.get_rng_state()  # the shuffle is drawn from it
        return iter(train_loader)
    rng_now = torch.get_rng_state()
    torch.set_rng_state(state.epoch_rng_state)
    batches = iter(train_loader)
    for _ in range(skip):
        next(batches)
    torch.set_rng_state(rng_now)  # dropout continues where the checkpoint left it
    return batches


def _train_step(model, optimizer, input_batch, target_batch, device, precision: str, grad_clip: float | None):
    """One optimizer step on one batch; returns the loss tensor."""
    optimizer.zero_grad()
    with autocast_context(device, precision):
        loss = calc_loss_batch(input_batch, target_batch, model, device)
    loss.backward()
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss


def train_model_simple(
    model, train_loader, val_loader, optimizer, device, num_epochs: int, eval_freq: int, eval_iter: int,
    start_context: str, tokenizer, *, warmup_steps: int = 0, min_lr: float | None = None,
    grad_clip: float | None = None, precision: str = "auto", out_dir: str | Path | None = None,
    checkpoint_every: int | None = None, resume: bool = False, max_steps: int | None = None, progress: bool = True,
) -> tuple[list[float], list[float], list[int]]:
    """Train for `num_epochs`; returns (train_losses, val_losses, tokens_seen) at each evaluation.

    With `out_dir`, writes `checkpoint.pth` after every epoch, every `checkpoint_every` steps
    and at the end, appends `metrics.jsonl` and `samples.jsonl`; `resume` continues from the
    checkpoint there at the saved step. `max_steps` stops early (e.g. for a smoke run).
    """
    device = torch.device(device)
    steps_per_epoch = len(train_loader)
    total_steps = num_epochs * steps_per_epoch if max_steps is None else min(max_steps, num_epochs * steps_per_epoch)
    out_dir = Path(out_dir) if out_dir is not None else None
    state = TrainState()
    if resume and out_dir is not None and (out_dir / CHECKPOINT_NAME).is_file():
        state = resume_checkpoint(out_dir, model, optimizer)
    metrics = samples = None
    if out_dir is not None:
        metrics, samples = AppendLog(out_dir / "metrics.jsonl"), AppendLog(out_dir / "samples.jsonl")
        for log in (metrics, samples):
            _keep_until(log, state.global_step)
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])  # the peak of the schedule; saved with the optimizer
    scheduled = warmup_steps > 0 or min_lr is not None

    def checkpoint() -> None:
        if out_dir is not None:
            save_checkpoint(out_dir, model, optimizer, state)

    done = state.global_step + 1
    skip = done % steps_per_epoch  # batches of the current epoch trained before the checkpoint
    bar = tqdm(total=total_steps, initial=done, unit="step", disable=not progress, dynamic_ncols=True)
    run_tokens, run_seconds = 0, 0.0
    for epoch in range(done // steps_per_epoch, num_epochs):
        if done >= total_steps:
            break
        model.train()
        for input_batch, target_batch in _epoch_batches(train_loader, state, skip):
            start = time.perf_counter()
            if scheduled:
                for group in optimizer.param_groups:
                    group["lr"] = lr_at_step(done, total_steps, group["initial_lr"], warmup_steps, min_lr)
            loss = _train_step(model, optimizer, input_batch, target_batch, device, precision, grad_clip)
            state.tokens_seen += input_batch.numel()
            state.global_step += 1
            done += 1
            run_tokens += input_batch.numel()
            run_seconds += time.perf_counter() - start
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{run_tokens / run_seconds:,.0f}")
            if state.global_step % eval_freq == 0:
                with autocast_context(device, precision):
                    train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device, eval_iter)
                state.train_losses.append(train_loss)
                state.val_losses.append(val_loss)
                state.track_tokens_seen.append(state.tokens_seen)
                tqdm.write(f"Ep {epoch + 1} (Step {state.global_step:06d}): Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")
                if metrics is not None:
                    metrics.append({
                        "step": state.global_step, "epoch": epoch + 1, "tokens_seen": state.tokens_seen,
                        "train_loss": train_loss, "val_loss": val_loss, "train_ppl": perplexity_of_loss(train_loss),
                        "val_ppl": perplexity_of_loss(val_loss), "lr": optimizer.param_groups[0]["lr"],
                        "tokens_per_sec": run_tokens / run_seconds,
                    })
            if checkpoint_every and done % checkpoint_every == 0:
                checkpoint()
            if done >= total_steps:
                break
        skip = 0
        sample = generate_sample(model, tokenizer, device, start_context)
        tqdm.write(sample)
        if samples is not None:
            samples.append({"step": state.global_step, "epoch": epoch + 1, "text": sample})
        checkpoint()
    bar.close()
    for log in (metrics, samples):
        if log is not None:
            log.close()
    return state.train_losses, state.val_losses, state.track_tokens_seen
