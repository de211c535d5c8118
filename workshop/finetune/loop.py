"""LitGPT's `finetune_lora` (litgpt/finetune/lora.py, LitGPT 0.5.13) as a loop we own, so it can resume.

`setup`, `main` and `fit` below follow LitGPT's three functions line for line (same order of
operations, RNG draws, gradient accumulation, LR schedule, printed lines and `fabric.log_dict` keys),
built from LitGPT's public pieces: its LoRA model and config, `mark_only_lora_as_trainable`, the
`litgpt.utils` helpers, and the module's own `validate`, `generate_example`, `get_lr_scheduler`,
`get_dataloaders`, `save_lora_checkpoint` and FSDP `parallelize_fn`, all called, none replaced.
`tests/test_finetune_fidelity.py` holds it to LitGPT's unmodified `setup`: the same per-step losses
and final LoRA weights. What is added is LitGPT's own resume pattern from `finetune/full.py` (a
`state` dict of model, optimizer, scheduler, `iter_num`, `step_count`), saved and restored by
`workshop.finetune.resume.Session` with the data position and RNG; a resumed run logs the global
iteration and step. One deliberate difference: after the sampled example the model goes back to
train mode (LitGPT 0.5.13 leaves it in eval mode, dropout off, when it skips a too-long example).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import time
from pathlib import Path
from pprint import pprint
from typing import Any

import lightning as L
import litgpt.finetune.lora as litgpt_lora
import torch
from lightning.fabric.plugins import BitsandbytesPrecision
from lightning.fabric.strategies import ModelParallelStrategy
from lightning.fabric.utilities import ThroughputMonitor
from litgpt.data import Alpaca
from litgpt.lora import GPT, Config, mark_only_lora_as_trainable
from litgpt.parser_config import save_hyperparameters
from litgpt.prompts import save_prompt_style
from litgpt.scripts.merge_lora import merge_lora
from litgpt.tokenizer import Tokenizer
from litgpt.utils import (auto_download_checkpoint, check_nvlink_connectivity, check_valid_checkpoint_dir,
                          choose_logger, chunked_cross_entropy, copy_config_files,
                          create_finetuning_performance_report, get_default_supported_precision, init_out_dir,
                          instantiate_bnb_optimizer, instantiate_torch_optimizer, load_checkpoint, num_parameters,
                          parse_devices)
from torch.utils.data import ConcatDataset
from torchmetrics import RunningMean

from workshop.finetune.progress import AppendingCSVLogger
from workshop.finetune.resume import Session

LORA_KEYS = ("lora_r", "lora_alpha", "lora_dropout", "lora_query", "lora_key", "lora_value", "lora_projection",
             "lora_mlp", "lora_head")


def setup(kwargs: dict[str, Any], session: Session) -> dict[str, Any]:
    """`litgpt.finetune.lora.setup(**kwargs)` (its defaults for missing keys) with our loop, logger and bar."""
    bound = inspect.signature(litgpt_lora.setup).bind(**kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    checkpoint_dir = auto_download_checkpoint(model_name=a["checkpoint_dir"], access_token=a["access_token"])
    pprint(a)
    data = Alpaca() if a["data"] is None else a["data"]
    devices, num_nodes, train, quantize = parse_devices(a["devices"]), a["num_nodes"], a["train"], a["quantize"]
    out_dir = init_out_dir(a["out_dir"])

    check_valid_checkpoint_dir(checkpoint_dir)
    config = Config.from_file(checkpoint_dir / "model_config.yaml", **{k: a[k] for k in LORA_KEYS})
    precision = a["precision"] or get_default_supported_precision(training=True)
    if a["logger_name"] == "csv" and session.metrics_file and Path(session.metrics_file).is_file():
        logger = AppendingCSVLogger(root_dir=out_dir / "logs", name="csv", keep_until=session.saved["iter_num"],
                                    version=Path(session.metrics_file).parent.name,
                                    flush_logs_every_n_steps=train.log_interval)
    else:
        logger = choose_logger(a["logger_name"], out_dir, name=f"finetune-{config.name}",
                               log_interval=train.log_interval, log_args=dataclasses.asdict(a["log"]))
    if a["logger_name"] == "csv":
        session.metrics_file = str(Path(logger.log_dir) / "metrics.csv")

    plugins = None
    if quantize is not None and quantize.startswith("bnb."):
        if "mixed" in precision:
            raise ValueError("Quantization and mixed precision is not supported.")
        dtype = {"16-true": torch.float16, "bf16-true": torch.bfloat16, "32-true": torch.float32}[precision]
        plugins = BitsandbytesPrecision(quantize[4:], dtype)
        precision = None
    strategy: Any = "auto"
    if devices * num_nodes > 1:
        if quantize:
            raise NotImplementedError("Quantization is currently not supported for multi-GPU training. Please set "
                                      "devices=1 and num_nodes=1 when using the --quantize flag.")
        strategy = ModelParallelStrategy(parallelize_fn=litgpt_lora.parallelize_fn,
                                         data_parallel_size=devices * num_nodes, tensor_parallel_size=1)
    fabric = L.Fabric(devices=devices, num_nodes=num_nodes, strategy=strategy, precision=precision,
                      loggers=[logger, session.progress], plugins=plugins)
    if torch.cuda.is_available() and devices > 1:
        check_nvlink_connectivity(fabric)
    return fabric.launch(main, devices, a["seed"], config, data, checkpoint_dir, out_dir, train, a["eval"],
                         a["optimizer"], num_nodes, precision, session)


def main(fabric: L.Fabric, devices: int, seed: int, config: Config, data: Any, checkpoint_dir: Path, out_dir: Path,
         train: Any, eval: Any, optimizer: Any, num_nodes: int, precision: str | None,
         session: Session) -> dict[str, Any]:
    """LitGPT's `main`: data, model, optimizer, scheduler, base weights; the saved state; fit; final save and merge."""
    litgpt_lora.validate_args(train, eval)
    tokenizer = Tokenizer(checkpoint_dir)
    train_dataloader, val_dataloader = litgpt_lora.get_dataloaders(fabric, data, tokenizer, train)
    accum = train.gradient_accumulation_iters(devices, num_nodes)
    steps_per_epoch = len(train_dataloader) // accum
    lr_max_steps = min(train.epochs * steps_per_epoch, (train.max_steps or float("inf")))

    fabric.seed_everything(seed)  # same seed for every process to init model (FSDP)
    if fabric.global_rank == 0:
        os.makedirs(out_dir, exist_ok=True)
    with fabric.init_module(empty_init=(fabric.world_size > 1)):
        model = GPT(config)
    mark_only_lora_as_trainable(model)
    fabric.print(f"Number of trainable parameters: {num_parameters(model, requires_grad=True):,}")
    fabric.print(f"Number of non-trainable parameters: {num_parameters(model, requires_grad=False):,}")

    model = fabric.setup_module(model)
    if isinstance(fabric.strategy.precision, BitsandbytesPrecision):
        optimizer = instantiate_bnb_optimizer(optimizer, model.parameters())
        from bitsandbytes.nn import StableEmbedding

        old_embedding = model.transformer.wte
        model.transformer.wte = StableEmbedding(old_embedding.num_embeddings, old_embedding.embedding_dim)
        with torch.no_grad():
            model.transformer.wte.weight.copy_(old_embedding.weight)
        model.transformer.wte = model.transformer.wte.to(device=old_embedding.weight.device,
                                                         dtype=old_embedding.weight.dtype)
    else:
        optimizer = instantiate_torch_optimizer(optimizer, model.parameters())
    optimizer = fabric.setup_optimizers(optimizer)
    scheduler = litgpt_lora.get_lr_scheduler(optimizer, warmup_steps=train.lr_warmup_steps, max_steps=lr_max_steps)
    load_checkpoint(fabric, model, checkpoint_dir / "lit_model.pth", strict=False)

    state = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "iter_num": 0, "step_count": 0,
             "finished": False}
    session.start(fabric, state, accum=accum, save_interval=train.save_interval,
                  total=int(min(train.epochs * len(train_dataloader) // accum, train.max_steps or float("inf"))))
    train_time = time.perf_counter()
    token_counts = fit(fabric, state, train_dataloader, val_dataloader, devices, checkpoint_dir, out_dir, train, eval,
                       data, num_nodes, session)
    fabric.print(create_finetuning_performance_report(time.perf_counter() - train_time, token_counts,
                                                      fabric.device.type))

    if eval.final_validation:
        val_loss = litgpt_lora.validate(fabric, model, val_dataloader,
                                        dataclasses.replace(eval, max_iters=len(val_dataloader)))
        fabric.log_dict({"val_loss": val_loss, "val_ppl": math.exp(val_loss)})
        fabric.print(f"Final evaluation | val loss: {val_loss.item():.3f} | val ppl: {math.exp(val_loss):.3f}")

    save_path = out_dir / "final" / "lit_model.pth.lora"
    save_lora_folder(fabric, model, save_path, checkpoint_dir, data)
    if fabric.global_rank == 0:
        merge_lora(checkpoint_dir=save_path.parent, pretrained_checkpoint_dir=checkpoint_dir, precision=precision)
    fabric.barrier()
    return state


def save_lora_folder(fabric: L.Fabric, model: Any, file: Path, checkpoint_dir: Path, data: Any) -> None:
    """LitGPT's LoRA save (step-NNNNNN and final): the LoRA weights, config files, hyperparameters, prompt style."""
    file.parent.mkdir(parents=True, exist_ok=True)
    litgpt_lora.save_lora_checkpoint(fabric, model, file)
    fabric.barrier()
    if fabric.global_rank == 0:
        copy_config_files(checkpoint_dir, file.parent)
        save_hyperparameters(litgpt_lora.setup, file.parent)
        save_prompt_style(data.prompt_style, file.parent)


def fit(fabric: L.Fabric, state: dict[str, Any], train_dataloader: Any, val_dataloader: Any, devices: int,
        checkpoint_dir: Path, out_dir: Path, train: Any, eval: Any, data: Any, num_nodes: int,
        session: Session) -> dict[str, int]:
    """LitGPT's `fit` over `state` (full.py's pattern); `session.step_end` after each optimizer step."""
    model, optimizer, scheduler = state["model"], state["optimizer"], state["scheduler"]
    resumed = state["iter_num"] > 0
    tokenizer = Tokenizer(checkpoint_dir)
    longest_seq_length, _ = litgpt_lora.get_longest_seq_length(
        ConcatDataset([train_dataloader.dataset, val_dataloader.dataset]))
    model.max_seq_length = min(longest_seq_length, train.max_seq_length or float("inf"))
    fabric.print(f"The longest sequence length in the train data is {longest_seq_length}, the model's maximum sequence "
                 f"length is {model.max_seq_length} and context length is {model.config.block_size}")

    if eval.initial_validation and not resumed:
        val_loss = litgpt_lora.validate(fabric, model, val_dataloader,
                                        dataclasses.replace(eval, max_iters=len(val_dataloader)))
        val_loss = f"{val_loss:.3f}"
    else:
        fabric.print("Verifying settings ...")
        litgpt_lora.validate(fabric, model, val_dataloader, dataclasses.replace(eval, max_iters=2), verbose=False)
        val_loss = "n/a"

    accum = train.gradient_accumulation_iters(devices, num_nodes)
    throughput = ThroughputMonitor(fabric, window_size=50)
    running_loss = RunningMean(window=accum, sync_on_compute=False).to(fabric.device)
    state["token_counts"] = {key: torch.tensor(0, device=fabric.device, dtype=torch.long) for key in
                             ("raw_tokens", "raw_tokens_plus_prompt_template",
                              "raw_tokens_plus_prompt_template_and_padding")}
    state["step_losses"] = []  # the last `accum` micro-batch losses: the running mean's window, saved with the state
    state["val_loss"] = val_loss  # shown on each log line; a resumed run shows the one it saved
    train_iterator = session.batches(train_dataloader, state, fabric.device)
    val_loss = state["val_loss"]
    token_counts = state["token_counts"]
    for loss in state["step_losses"]:  # a resumed run's window: the saved step's micro-batch losses
        running_loss.update(loss)
    max_steps = train.max_steps or float("inf")
    max_time = train.max_time or float("inf")
    total_lengths = 0
    total_t0 = time.perf_counter()

    session.in_loop = True
    while state["step_count"] < max_steps and not state["finished"]:
        state["iter_num"] += 1
        iter_num = state["iter_num"]
        iter_t0 = time.perf_counter()
        batch = next(train_iterator)
        if train_iterator.epoch >= train.epochs:
            if fabric.global_rank == 0:
                litgpt_lora.generate_example(fabric, model, tokenizer, eval, data)
            fabric.print(f"Number of epochs {train.epochs} reached, stopping training...")
            break
        if iter_t0 - total_t0 > max_time:
            if fabric.global_rank == 0:
                litgpt_lora.generate_example(fabric, model, tokenizer, eval, data)
            fabric.print(f"Max time ({max_time / 60.0:.2f}m) reached, stopping training...")
            break
        input_ids, targets = batch["input_ids"], batch["labels"]

        is_accumulating = iter_num % accum != 0
        with fabric.no_backward_sync(model, enabled=is_accumulating):
            logits = model(input_ids, lm_head_chunk_size=128)
            logits[-1] = logits[-1][..., :-1, :]  # shift the targets such that output n predicts token n+1
            loss = chunked_cross_entropy(logits, targets[..., 1:])
            fabric.backward(loss / accum)

        running_loss.update(loss.detach())
        state["step_losses"] = [*state["step_losses"], loss.detach()][-accum:]

        if not is_accumulating:
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
            state["step_count"] += 1

        token_counts["raw_tokens"] += batch["token_counts"]["raw"].sum().item()
        token_counts["raw_tokens_plus_prompt_template"] += (
            batch["token_counts"]["raw_plus_prompt_template"].sum().item())
        token_counts["raw_tokens_plus_prompt_template_and_padding"] += input_ids.numel()

        total_lengths += input_ids.numel()
        if iter_num % train.log_interval == 0:
            loss = running_loss.compute().item()  # expensive device-to-host synchronization
            t1 = time.perf_counter()
            throughput.update(time=t1 - total_t0, batches=iter_num, samples=iter_num * train.micro_batch_size,
                              lengths=total_lengths)
            throughput.compute_and_log(step=iter_num)
            metrics = {
                "loss": loss, "iter": iter_num, "step": state["step_count"], "epoch": train_iterator.epoch,
                "iter_time": t1 - iter_t0, "tokens": token_counts["raw_tokens_plus_prompt_template"],
                "total_tokens": token_counts["raw_tokens_plus_prompt_template"] * fabric.world_size,
                "learning_rate": scheduler.get_last_lr()[0],
            }
            if isinstance(val_loss, torch.Tensor):
                val_loss = f"{val_loss:.3f}"
            fabric.print(f"Epoch {metrics['epoch'] + 1} | iter {metrics['iter']} step {metrics['step']} |"
                         f" loss train: {metrics['loss']:.3f}, val: {val_loss} |"
                         f" iter time: {metrics['iter_time'] * 1000:.2f} ms{' (step)' if not is_accumulating else ''}")
            fabric.log_dict(metrics, step=iter_num)

        if not is_accumulating and state["step_count"] % eval.interval == 0:
            t0 = time.perf_counter()
            val_loss = litgpt_lora.validate(fabric, model, val_dataloader, eval)
            state["val_loss"] = f"{val_loss:.3f}"
            if fabric.global_rank == 0:
                litgpt_lora.generate_example(fabric, model, tokenizer, eval, data)
                model.train()  # LitGPT leaves eval mode on when it skips the example
            fabric.barrier()
            t1 = time.perf_counter() - t0
            val_loss_tensor = val_loss.detach().clone().to(fabric.device)
            val_time_tensor = torch.tensor(t1, device=fabric.device, dtype=torch.float32)
            fabric.all_reduce(val_loss_tensor, reduce_op="mean")
            fabric.all_reduce(val_time_tensor, reduce_op="mean")
            fabric.print(f"iter {iter_num}: val loss {val_loss_tensor.item():.4f}, "
                         f"val time: {val_time_tensor.item() * 1000:.2f} ms")
            fabric.log_dict({"val_loss": val_loss_tensor, "val_ppl": math.exp(val_loss_tensor)}, step=iter_num)
            fabric.barrier()

        if not is_accumulating:
            if train.save_interval is not None and state["step_count"] % train.save_interval == 0:
                save_lora_folder(fabric, model, out_dir / f"step-{state['step_count']:06d}" / "lit_model.pth.lora",
                                 checkpoint_dir, data)
            session.step_end(state)
    session.finish(state)
    return {key: fabric.all_reduce(value, reduce_op="sum").item() for key, value in token_counts.items()}
