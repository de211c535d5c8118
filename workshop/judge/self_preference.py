"""Self-preference: a judge tends to favour text from its own model family, so the summary says when they share one.

A model's identity is read from its LitGPT checkpoint folder: the base model's name
(`model_config.yaml`: `hf_config.name`, else `name`) and a hash of its tokenizer files; a
finetune keeps both, so a judge is flagged against finetunes of itself too. A name that is
not a checkpoint folder (a server's model name) is compared by its last path part.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import yaml

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")


def identity(model: Any) -> dict[str, str | None]:
    """{"base": lower-cased base model name, "tokenizer": sha256 of the tokenizer file or None}."""
    from workshop.core.errors import WorkshopError
    from workshop.models.checkpoints import resolve_checkpoint

    folder = getattr(model, "checkpoint_dir", None) or model
    try:
        folder = resolve_checkpoint(str(folder))
    except WorkshopError:  # not a checkpoint (a URL, a served name): compare by name only
        return {"base": Path(str(folder)).name.lower(), "tokenizer": None}
    config = yaml.safe_load((folder / "model_config.yaml").read_text(encoding="utf-8")) or {}
    base = (config.get("hf_config") or {}).get("name") or config.get("name") or folder.name
    tokenizer = next((folder / f for f in TOKENIZER_FILES if (folder / f).is_file()), None)
    digest = hashlib.sha256(tokenizer.read_bytes()).hexdigest() if tokenizer else None
    return {"base": str(base).lower(), "tokenizer": digest}


def self_preference_note(judge: Any, judged: Sequence[Any]) -> str | None:
    """One line when the judge shares a base model or a tokenizer with a model it judges (None otherwise)."""
    judge = judge[0] if isinstance(judge, (list, tuple)) and len(judge) == 1 else judge
    if not judged or isinstance(judge, (list, tuple)) or callable(judge):
        return None
    mine = identity(judge)
    shared = []
    for model in judged:
        theirs = identity(model)
        if mine["base"] == theirs["base"]:
            shared.append(f"{model} (same base model, {theirs['base']})")
        elif mine["tokenizer"] is not None and mine["tokenizer"] == theirs["tokenizer"]:
            shared.append(f"{model} (same tokenizer)")
    if not shared:
        return None
    return ("self-preference: the judge shares a base model or tokenizer with " + "; ".join(shared)
            + " — judges tend to favour their own family's text, so read its scores beside the reference metrics "
              "or use a judge from another family.")
