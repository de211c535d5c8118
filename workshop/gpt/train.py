"""Pretraining loop of workshop section 4, as the book writes it (LLMs-from-scratch ch05).

`train_model_simple(model, train_loader, val_loader, optimizer, device, num_epochs, eval_freq,
eval_iter, start_context, tokenizer)` keeps the book's signature and behaviour: evaluate every
`eval_freq` steps on `eval_iter` batches, print a greedy sample after each epoch, return
`train_losses, val_losses, track_tokens_seen`. What a long run needs on top (progress bar,
autocast, warmup + cosine, clipping, checkpoints, resume, JSONL metrics) is an addition in
`workshop.gpt.trainer.train_model`, which `workshop gpt pretrain` uses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workshop.gpt.generate import generate_text_simple, text_to_token_ids, token_ids_to_text


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


def generate_and_print_sample(model, tokenizer, device, start_context: str) -> None:
    """Print a 50-token greedy continuation of `start_context` (newlines flattened)."""
    model.eval()
    context_size = model.pos_emb.weight.shape[0]
    encoded = text_to_token_ids(start_context, tokenizer).to(device)
    with torch.no_grad():
        token_ids = generate_text_simple(model=model, idx=encoded, max_new_tokens=50, context_size=context_size)
    decoded_text = token_ids_to_text(token_ids, tokenizer)
    print(decoded_text.replace("\n", " "))
    model.train()


def train_model_simple(model, train_loader, val_loader, optimizer, device, num_epochs, eval_freq, eval_iter,
                       start_context, tokenizer):
    """Train for `num_epochs`; returns (train_losses, val_losses, track_tokens_seen) at each evaluation."""
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, -1

    for epoch in range(num_epochs):
        model.train()
        for input_batch, target_batch in train_loader:
            optimizer.zero_grad()  # reset the gradients of the previous batch
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            loss.backward()  # gradients of the loss
            optimizer.step()  # update the weights with them
            tokens_seen += input_batch.numel()
            global_step += 1

            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
                print(f"Ep {epoch + 1} (Step {global_step:06d}): Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")

        generate_and_print_sample(model, tokenizer, device, start_context)  # a sample after each epoch

    return train_losses, val_losses, track_tokens_seen
