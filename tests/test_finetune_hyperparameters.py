"""`hyperparameters.yaml` of a `workshop run` finetune is the file LitGPT's own `save_hyperparameters` writes for
the same config (LitGPT re-parses the command line for it; the toolkit leaves `sys.argv` alone)."""

from __future__ import annotations

import sys
from pathlib import Path

import litgpt.finetune.lora as litgpt_lora
import pytest
import yaml
from litgpt.parser_config import save_hyperparameters
from litgpt.scripts.merge_lora import load_lora_metadata

from workshop.core.paths import RECIPES_DIR
from workshop.run.recipes import OUR_KEYS, hyperparameters_yaml, load_recipe, validate


@pytest.mark.parametrize("name", sorted(p.stem for p in (RECIPES_DIR / "finetune").glob("*.yaml")))
def test_hyperparameters_equal_litgpts_own_file_key_by_key(name, tmp_path, monkeypatch):
    resolved = validate(load_recipe(name, [f"checkpoint_dir={tmp_path / 'base'}"]), name, check_files=False)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({k: v for k, v in resolved.items() if k not in OUR_KEYS}))
    monkeypatch.setattr(sys, "argv", ["litgpt", "--config", str(config)])  # how LitGPT's CLI leaves the command line
    save_hyperparameters(litgpt_lora.setup, tmp_path)
    theirs = yaml.safe_load((tmp_path / "hyperparameters.yaml").read_text())
    monkeypatch.undo()
    argv = list(sys.argv)
    ours = yaml.safe_load(hyperparameters_yaml(resolved, name))
    assert sys.argv == argv
    assert list(ours) == list(theirs)  # the same keys in the same order
    for key in theirs:
        assert ours[key] == theirs[key], key
    assert ours["lora_r"] == resolved["lora_r"] and ours["train"]["epochs"] == resolved["train"]["epochs"]

    (tmp_path / "final").mkdir()
    (tmp_path / "final" / "hyperparameters.yaml").write_text(hyperparameters_yaml(resolved, name))
    lora, base, precision = load_lora_metadata(tmp_path / "final")  # what merge_lora reads back
    assert base == Path(resolved["checkpoint_dir"]) and precision == resolved["precision"]
    assert lora == {k: v for k, v in resolved.items() if k.startswith("lora_")}
