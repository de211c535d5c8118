"""Additions to the book's pretraining loop for long runs: what `workshop gpt pretrain` trains with.

`train_model` runs the same loop as `workshop.gpt.train.train_model_simple` (same steps, same
evaluations, same loss curves for the same seed) and adds, all optional: a tqdm bar with
tokens/s and ETA, bf16 autocast, linear warmup + cosine decay, gradient clipping, checkpoints
(`model.pth` plus the latest `resume/state.pth`) with exact resume, metrics/samples as JSONL,
and a last evaluation after the final step, so the last reported validation loss is the
model's at the end (not at the last multiple of `eval_freq`).
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from workshop.models.device import resolve_precision
from workshop.core.errors import WorkshopError
from workshop.gpt.checkpoint import TrainState, has_state, resume_checkpoint, save_checkpoint
from workshop.gpt.generate import generate, text_to_token_ids, token_ids_to_text
from workshop.gpt.train import calc_loss_batch, evaluate_model
from workshop.core.io import AppendLog, atomic_write_jsonl

PRECISIONS = ("auto", "32-true", "bf16-mixed")


def perplexity_of_loss(loss: float) -> float:
    """exp(loss): the effective number of tokens the model hesitates between."""
    return math.exp(min(loss, 700.0))


def generate_sample(model, tokenizer, device, start_context: str, max_new_tokens: int = 50) -> str:
    """Greedy continuation of `start_context` (the per-epoch sample) with the KV cache, newlines flattened."""
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


def train_model(
    model, train_loader, val_loader, optimizer, device, num_epochs: int, eval_freq: int, eval_iter: int,
    start_context: str, tokenizer, *, warmup_steps: int = 0, min_lr: float | None = None,
    grad_clip: float | None = None, precision: str = "auto", out_dir: str | Path | None = None,
    checkpoint_every: int | None = None, resume: bool = False, max_steps: int | None = None, progress: bool = True,
) -> tuple[list[float], list[float], list[int]]:
    """`train_model_simple`'s loop with the additions above; returns (train_losses, val_losses, tokens_seen).

    With `out_dir`, writes `model.pth` and `resume/state.pth` after every epoch, every
    `checkpoint_every` steps and at the end, and appends `metrics.jsonl` and `samples.jsonl`;
    `resume` continues from the state there at the saved step. `max_steps` stops early.
    """
    device = torch.device(device)
    steps_per_epoch = len(train_loader)
    total_steps = num_epochs * steps_per_epoch if max_steps is None else min(max_steps, num_epochs * steps_per_epoch)
    out_dir = Path(out_dir) if out_dir is not None else None
    state = TrainState()
    if resume and out_dir is not None and has_state(out_dir):
        state = resume_checkpoint(out_dir, model, optimizer)
    metrics = samples = None
    if out_dir is not None:
        metrics, samples = AppendLog(out_dir / "metrics.jsonl"), AppendLog(out_dir / "samples.jsonl")
        for log in (metrics, samples):
            _keep_until(log, state.global_step)
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])  # the peak of the schedule; saved with the optimizer
    scheduled = warmup_steps > 0 or min_lr is not None
    run_tokens, run_seconds = 0, 0.0

    def checkpoint() -> None:
        if out_dir is not None:
            save_checkpoint(out_dir, model, optimizer, state)

    def evaluate(epoch: int) -> None:
        with autocast_context(device, precision):
            train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device, eval_iter)
        state.train_losses.append(train_loss)
        state.val_losses.append(val_loss)
        state.track_tokens_seen.append(state.tokens_seen)
        state.eval_steps.append(state.global_step)
        tqdm.write(f"Ep {epoch + 1} (Step {state.global_step:06d}): Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")
        if metrics is not None:
            metrics.append({
                "step": state.global_step, "epoch": epoch + 1, "tokens_seen": state.tokens_seen,
                "train_loss": train_loss, "val_loss": val_loss, "train_ppl": perplexity_of_loss(train_loss),
                "val_ppl": perplexity_of_loss(val_loss), "lr": optimizer.param_groups[0]["lr"],
                "tokens_per_sec": run_tokens / run_seconds if run_seconds else None,
            })

    done = state.global_step + 1
    skip = done % steps_per_epoch  # batches of the current epoch trained before the checkpoint
    bar = tqdm(total=total_steps, initial=done, unit="step", disable=not progress, dynamic_ncols=True)
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
                evaluate(epoch)
            if checkpoint_every and done % checkpoint_every == 0:
                checkpoint()
            if done >= total_steps:
                break
        skip = 0
        if done >= total_steps and state.eval_steps[-1:] != [state.global_step]:
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                evaluate(epoch)  # the loss at the end, not at the last multiple of eval_freq; its shuffle of
                # the train loader must not move the RNG a later resume continues from
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
