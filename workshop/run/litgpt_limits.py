"""Settings LitGPT's parser accepts but its finetune_lora rejects only once running (after the model has
loaded, or with a bare assertion): refused here, by `workshop run --dry-run` and before any model loads.

Found by trying each recipe key at its edges on LitGPT 0.5.13: the warmup divides by
`lr_warmup_steps` (0: ZeroDivisionError) and the cosine that follows by `max_steps -
lr_warmup_steps` (equal: ZeroDivisionError; fewer steps than warmup: the learning rate never
reaches `lr`); `gradient_accumulation_iters` asserts a micro batch no larger than the
per-device batch and floors a global batch that is not a multiple of it; `validate_args`
requires `train.epochs` and `eval.max_new_tokens` and refuses four `train` keys; the optimizer
refuses its own bad values (a negative `lr` or `weight_decay`, a beta outside [0, 1)) only when
it is built, after the model.
"""

from __future__ import annotations

from workshop.core.errors import WorkshopError

UNSUPPORTED = ("max_tokens", "max_norm", "tie_embeddings", "lr_warmup_fraction")  # LitGPT's validate_args


def ranks(resolved: dict) -> int:
    """devices x num_nodes of a recipe (devices "auto" or -1 counts as one: it means the GPUs there are)."""
    devices = resolved.get("devices", 1)
    devices = int(devices) if str(devices).lstrip("-").isdigit() and int(devices) > 0 else 1
    return devices * int(resolved.get("num_nodes") or 1)


def _schedule(train: dict) -> list[str]:
    warmup, max_steps = train.get("lr_warmup_steps"), train.get("max_steps")
    if not warmup:
        return [f"train.lr_warmup_steps: {warmup} would make LitGPT's warmup divide by zero; use 1 or more"]
    if max_steps is not None and max_steps <= warmup:
        return [f"train.max_steps ({max_steps}) must be above train.lr_warmup_steps ({warmup}): LitGPT's cosine "
                "schedule after the warmup divides by their difference; set --set train.lr_warmup_steps="
                f"{max(1, max_steps // 10)} (or raise train.max_steps)"]
    return []


def _batches(train: dict, n_ranks: int) -> list[str]:
    total, micro = train.get("global_batch_size"), train.get("micro_batch_size")
    if not total or not micro:
        return []
    per_rank = total // n_ranks
    devices = f" / {n_ranks} devices" if n_ranks > 1 else ""
    if micro > per_rank:
        return [f"train.micro_batch_size ({micro}) is above train.global_batch_size ({total}{devices}); LitGPT "
                f"stops on an assertion; set train.micro_batch_size to {max(per_rank, 1)} or less"]
    if per_rank % micro or total % n_ranks:
        used = per_rank // micro * micro * n_ranks
        return [f"train.global_batch_size ({total}) is not a multiple of train.micro_batch_size ({micro}"
                f"{' x ' + str(n_ranks) + ' devices' if n_ranks > 1 else ''}): LitGPT would quietly train on batches "
                f"of {used}; set train.global_batch_size to {used} or {used + micro * n_ranks}"]
    return []


def _optimizer(spec: object) -> list[str]:
    """The optimizer built from its `{class_path, init_args}` on one dummy parameter: its own checks, now."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_path"), str):
        return []
    import importlib

    import torch

    module, _, name = spec["class_path"].rpartition(".")
    try:
        optimizer = getattr(importlib.import_module(module), name)
        optimizer([torch.nn.Parameter(torch.zeros(1))], **(spec.get("init_args") or {}))
    except (ValueError, TypeError) as e:
        return [f"optimizer.init_args: {name} refuses it ({e}); fix that value"]
    return []


def check_finetune_settings(resolved: dict, where: str) -> None:
    """Every finetune_lora setting LitGPT would reject mid-run, in one line with the fix each."""
    train, evals = resolved.get("train") or {}, resolved.get("eval") or {}
    found = _schedule(train) + _batches(train, ranks(resolved)) + _optimizer(resolved.get("optimizer"))
    if train.get("epochs") is None:
        found.append("train.epochs: LitGPT's finetune_lora requires it even with train.max_steps; set e.g. "
                     "--set train.epochs=1 (train.max_steps still stops the run earlier)")
    if evals.get("max_new_tokens") is None:
        found.append("eval.max_new_tokens: LitGPT's finetune_lora requires it; set e.g. --set eval.max_new_tokens=100")
    found += [f"train.{key}: LitGPT's finetune_lora does not support it; remove it" for key in UNSUPPORTED
              if train.get(key) is not None]
    if found:
        raise WorkshopError(f"{where}: {'; '.join(found)}")
