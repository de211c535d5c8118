"""Recipes: every shipped YAML validates against LitGPT's signatures; typos get suggestions; overrides."""

from __future__ import annotations

import pytest
import yaml

from workshop.cli.main import main
from workshop.models.device import resolve_precision
from workshop.core.errors import WorkshopError
from workshop.core.paths import RECIPES_DIR
from workshop.run.recipes import load_recipe, set_key, validate

RECIPES = sorted(RECIPES_DIR.rglob("*.yaml"))
SMOLLM2 = RECIPES_DIR / "finetune" / "smollm2-135m-lora.yaml"


def test_the_required_recipes_ship():
    names = {p.name for p in RECIPES}
    assert {"phi-2-lora.yaml", "llama-3-8b-instruct-lora.yaml", "tenny-phi-2-lora.yaml", "qlora-nf4.yaml",
            "smollm2-135m-lora.yaml"} <= names


def litgpt_repo_ids() -> set[str]:
    from litgpt.config import configs

    return {f"{c['hf_config']['org']}/{c['hf_config']['name']}" for c in configs}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(RECIPES_DIR)))
def test_every_checkpoint_a_recipe_names_is_one_litgpt_downloads(path):
    """checkpoints/<org>/<name> is where `workshop download <org>/<name>` puts LitGPT's conversion: a name LitGPT
    doesn't know can never exist there (Llama 3.1 is `meta-llama/Meta-Llama-3.1-8B` in LitGPT's configs)."""
    recipe = load_recipe(path)
    names = [recipe.get("checkpoint_dir")] + [recipe.get("vars", {}).get(k) for k in ("model", "judge")]
    for name in filter(None, names):
        repo = str(name).removeprefix("checkpoints/")
        assert repo == "smollm2-135m-instruct" or repo in litgpt_repo_ids(), f"{path.name}: {name}"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(RECIPES_DIR)))
def test_every_recipe_validates(path):
    if path.parent.name == "gpt":  # `workshop gpt pretrain --config` presets, not `workshop run` recipes
        import dataclasses

        from workshop.gpt.config import load_pretrain_config

        config = dataclasses.asdict(load_pretrain_config(str(path)))
        for section, values in yaml.safe_load(path.read_text()).items():
            assert {k: config[section][k] for k in values} == values, section  # every key read as written
        return
    recipe = load_recipe(path)
    if "steps" in recipe:
        from workshop.run.pipeline import validate_pipeline

        assert [s["name"] for s in validate_pipeline(recipe, path)] == [s["name"] for s in recipe["steps"]]
        return
    resolved = validate(recipe, path, check_files=False)  # shipped GPU recipes name checkpoints not built here
    assert resolved["precision"] == (recipe.get("precision") if recipe.get("precision") not in (None, "auto")
                                     else resolve_precision("auto"))
    for key, value in recipe.get("train", {}).items():
        assert resolved["train"][key] == value


def test_workshop_phi2_recipe_is_the_workshop_command():
    r = validate(load_recipe(RECIPES_DIR / "finetune" / "phi-2-lora.yaml"), check_files=False)
    assert r["data"]["class_path"] == "litgpt.data.JSON"
    args = {k: v for k, v in r["data"]["init_args"].items() if v is not None}
    assert args == {"json_path": "instruction-data.json", "val_split_fraction": 0.1, "mask_prompt": False,  # LitGPT's
                    "prompt_style": "alpaca", "ignore_index": -100, "seed": 42, "num_workers": 4}  # JSON defaults
    assert r["train"]["epochs"] == 3 and r["out_dir"] == "out/finetune/lora"
    assert r["train"]["global_batch_size"] == 16  # the rest are LitGPT's finetune_lora defaults
    t = validate(load_recipe(RECIPES_DIR / "finetune" / "tenny-phi-2-lora.yaml"), check_files=False)
    assert (t["lora_r"], t["lora_alpha"], t["lora_dropout"]) == (8, 16, 0.05)
    assert t["lora_query"] and t["lora_key"] and t["lora_value"] and not t["lora_mlp"]
    q = validate(load_recipe(RECIPES_DIR / "finetune" / "qlora-nf4.yaml"), check_files=False)
    assert (q["quantize"], q["precision"]) == ("bnb.nf4-dq", "bf16-true")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.max_stepz=3", "train.max_stepz: unknown key; did you mean train.max_steps?"),
        ("lora_alfa=8", "lora_alfa: unknown key; did you mean lora_alpha?"),
        ("data.init_args.json_pth=x.json", "data.init_args.json_pth: unknown key; did you mean 'json_path'?"),
        ("eval.intervall=5", "eval.intervall: unknown key; did you mean eval.interval?"),
        ("data.class_path=JSONN", "data.class_path: no class 'JSONN' in litgpt.data; did you mean 'JSON'?"),
        ("data.init_args.prompt_style=alpacca", "unknown style 'alpacca'; did you mean 'alpaca'?"),
        ("optimizer.init_args.lrr=0.1", "optimizer.init_args.lrr: unknown key; did you mean 'lr'?"),
        ("job=finetune", "unknown job 'finetune'; did you mean 'finetune_lora'?"),
        ("lora_r=eight", "lora_r: expected a whole number, got 'eight'"),
        ("lora_r=-1", "lora_r: -1 is out of range; use a whole number of 1 or more"),
        ("lora_dropout=1.5", "lora_dropout: 1.5 is out of range; use a number from 0 to 1"),
        ("train.max_steps=0", "train.max_steps: 0 is out of range; use a whole number of 1 or more"),
        ("quantize=nf4", "quantize: use one of bnb.nf4, bnb.nf4-dq"),
        ("precision=fp8", "precision 'fp8' is not known"),
        ("train.lr_warmup_fraction=0.1", "train.lr_warmup_fraction: LitGPT's finetune_lora does not support it"),
        ("train.max_steps=four", "train.max_steps: expected a whole number, got 'four'"),
    ],
)
def test_bad_keys_and_values_fail_in_one_line(override, message, capsys):
    assert main(["run", str(SMOLLM2), "--dry-run", "--set", override]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(SMOLLM2) in err, err
    assert "\n" not in err and err.startswith("workshop: error:")


@pytest.mark.parametrize(("overrides", "message"), [
    (["train.max_steps=5"], "train.max_steps (5) must be above train.lr_warmup_steps (5): LitGPT's cosine schedule "
                            "after the warmup divides by their difference; set --set train.lr_warmup_steps=1"),
    (["train.max_steps=3"], "train.max_steps (3) must be above train.lr_warmup_steps (5)"),
    (["train.lr_warmup_steps=0"], "train.lr_warmup_steps: 0 would make LitGPT's warmup divide by zero; use 1 or more"),
    (["train.micro_batch_size=8"], "train.micro_batch_size (8) is above train.global_batch_size (4); LitGPT stops on "
                                   "an assertion; set train.micro_batch_size to 4 or less"),
    (["train.global_batch_size=6"], "train.global_batch_size (6) is not a multiple of train.micro_batch_size (4): "
                                    "LitGPT would quietly train on batches of 4; set train.global_batch_size to 4 or 8"),
    (["train.epochs=null"], "train.epochs: LitGPT's finetune_lora requires it even with train.max_steps"),
    (["eval.max_new_tokens=null"], "eval.max_new_tokens: LitGPT's finetune_lora requires it"),
    (["train.max_norm=1.0"], "train.max_norm: LitGPT's finetune_lora does not support it; remove it"),
    (["optimizer.init_args.lr=-0.1"], "optimizer.init_args: AdamW refuses it (Invalid learning rate: -0.1)"),
    (["optimizer.init_args.betas=[0.9, 1.5]"], "AdamW refuses it (Invalid beta parameter at index 1: 1.5)"),
    (["train.min_lr=-1e-5"], "train.min_lr: -1e-05 is out of range; use a number of 0 or more"),
    (["train.max_steps=2", "train.micro_batch_size=8"],  # both problems, in one line
     "lr_warmup_steps=1 (or raise train.max_steps); train.micro_batch_size (8) is above train.global_batch_size (4)"),
])
def test_settings_litgpt_rejects_mid_run_fail_the_dry_run(overrides, message, capsys):
    """Each of these passes LitGPT's parser and then stops its finetune_lora once running (ZeroDivisionError in the
    LR scheduler, an assertion in gradient_accumulation_iters, validate_args) or quietly trains on other batches."""
    argv = ["run", str(SMOLLM2), "--dry-run"] + [w for o in overrides for w in ("--set", o)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


def test_litgpt_divides_by_the_warmup_steps_as_the_check_says():
    """The reference: LitGPT's own scheduler with the refused settings raises mid-run; with the fix it does not."""
    import torch
    from litgpt.finetune.lora import get_lr_scheduler

    def run(warmup: int, max_steps: int) -> None:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        scheduler = get_lr_scheduler(optimizer, warmup_steps=warmup, max_steps=max_steps)
        for _ in range(max_steps):
            optimizer.step()
            scheduler.step()

    for warmup, max_steps in ((5, 5), (0, 5)):
        with pytest.raises(ZeroDivisionError):
            run(warmup, max_steps)
    run(1, 5)


def test_a_real_run_with_such_settings_stops_before_loading_the_model(tiny_checkpoint_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SMOLLM2), "--set", f"checkpoint_dir={tiny_checkpoint_dir}", "--set", f"out_dir={out}",
                 "--set", "train.max_steps=5"]) == 2
    assert "train.max_steps (5) must be above train.lr_warmup_steps (5)" in capsys.readouterr().err
    assert not out.exists()


def test_a_pipeline_finetune_step_is_checked_by_the_dry_run(capsys):
    assert main(["run", "pipelines/quickstart", "--dry-run", "--set", "steps.3.with.train.max_steps=4"]) == 2
    assert "train.max_steps (4) must be above train.lr_warmup_steps (4)" in capsys.readouterr().err


def test_dry_run_prints_the_resolved_config(capsys, tiny_checkpoint_dir):
    assert main(["run", str(SMOLLM2), "--dry-run", "--set", "train.max_steps=30", "--set", "lora_r=4",
                 "--set", f"checkpoint_dir={tiny_checkpoint_dir}"]) == 0
    out = capsys.readouterr().out
    resolved = yaml.safe_load(out)
    assert resolved["train"]["max_steps"] == 30 and resolved["lora_r"] == 4
    assert resolved["precision"] == resolve_precision("auto")
    assert resolved["eval"]["interval"] == 10 and resolved["train"]["min_lr"] == 6e-05  # LitGPT default filled in
    assert "nothing was run" in out


def test_set_key_parses_yaml_scalars_and_indexes_lists():
    recipe = {"train": {"epochs": 3}, "steps": [{"with": {"a": 1}}], "data": {"init_args": {"prompt_style": "alpaca"}}}
    for item in ["train.max_steps=3", "train.max_time=1.5", "train.epochs=null", "steps.0.with.a=[1, 2]",
                 "lora_mlp=true", "out_dir=out/x", "data.init_args.prompt_style.class_path=workshop.datasets.tenny.ContextResponse"]:
        set_key(recipe, item)
    assert recipe["train"] == {"epochs": None, "max_steps": 3, "max_time": 1.5}
    assert recipe["steps"][0]["with"]["a"] == [1, 2] and recipe["lora_mlp"] is True and recipe["out_dir"] == "out/x"
    assert recipe["data"]["init_args"]["prompt_style"] == {"class_path": "workshop.datasets.tenny.ContextResponse"}
    with pytest.raises(WorkshopError, match="KEY=VALUE"):
        set_key(recipe, "train.max_steps")
    with pytest.raises(WorkshopError, match="use an index"):
        set_key(recipe, "steps.5.with.a=1")


def test_recipe_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("job: finetune_lora\ntrain: [unclosed\n")
    with pytest.raises(WorkshopError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_recipe(bad)
    with pytest.raises(WorkshopError, match="recipe not found"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(WorkshopError, match="missing key 'job'"):
        validate({"checkpoint_dir": "x"}, "r.yaml")
    with pytest.raises(WorkshopError, match="checkpoint_dir: missing; it is required"):
        validate({"job": "finetune_lora"}, "r.yaml")
    with pytest.raises(WorkshopError, match="'merge' only applies to job finetune_lora"):
        validate({"job": "generate", "checkpoint_dir": "x", "merge": True}, "r.yaml")


def test_recipe_hash_follows_the_data_files_and_the_base_weights(tmp_path, tiny_checkpoint_dir):
    import os
    import shutil

    from workshop.run.recipes import recipe_hash

    ckpt = shutil.copytree(tiny_checkpoint_dir, tmp_path / "ckpt")
    data = tmp_path / "train.json"
    data.write_text('[{"instruction": "a", "input": "", "output": "b"}]')
    resolved = {"job": "finetune_lora", "checkpoint_dir": str(ckpt), "train": {"max_steps": 3},
                "data": {"class_path": "litgpt.data.JSON", "init_args": {"json_path": str(data)}}}
    first = recipe_hash(resolved)
    assert recipe_hash(resolved) == first
    data.write_text('[{"instruction": "a", "input": "", "output": "c"}]')  # same size, other content
    assert recipe_hash(resolved) != first
    data.write_text('[{"instruction": "a", "input": "", "output": "b"}]')
    assert recipe_hash(resolved) == first
    stat = (ckpt / "lit_model.pth").stat()
    os.utime(ckpt / "lit_model.pth", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # new base weights
    assert recipe_hash(resolved) != first
    assert recipe_hash({**resolved, "train": {"max_steps": 4}}) != recipe_hash(resolved)
