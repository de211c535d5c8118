"""Every shipped finetune recipe and the workshop-phi-2 pipeline, rehearsed on CPU: a few steps end to end through
`workshop run RECIPE --set ...` (what a GPU user types), on a tiny random checkpoint of the recipe's own LitGPT
architecture (phi-2, Llama 3, Llama 3.1 configs shrunk), so a recipe that cannot run fails here, not on the GPU day.

On CPU: `quantize` is removed (Lightning Fabric refuses bitsandbytes without CUDA, "Bitsandbytes is only supported
on CUDA GPUs."; every other setting unchanged, the 4-bit path runs in bench/gpu.py), and the 4-GPU recipes run on
one process through `workshop run` (it refuses devices beyond the GPUs found) plus two gloo processes through
LitGPT's own CLI on the config `workshop run` wrote (its FSDP strategy, ModelParallelStrategy). Each rehearsal
prints steps, time and losses (`pytest -s`).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from workshop.cli.main import main
from workshop.core.paths import DATA_DIR, RECIPES_DIR
from workshop.models.testing import tiny_checkpoint

ARCHITECTURE = {  # recipe -> the LitGPT config its checkpoint has (None: SmolLM2's, a llama-style one)
    "phi-2-lora": "phi-2",
    "phi-2-lora-4gpu": "phi-2",
    "tenny-phi-2-lora": "phi-2",
    "llama-3-8b-instruct-lora": "Llama-3-8B-Instruct",
    "llama-3-8b-instruct-lora-4gpu": "Llama-3-8B-Instruct",
    "qlora-nf4": "Llama-3-8B-Instruct",
    "cola-label-words-lora": "Llama-3.1-8B",
    "smollm2-135m-lora": None,
    "smollm2-grammar-lora": None,
}
FAST = {"phi-2-lora", "llama-3-8b-instruct-lora", "cola-label-words-lora"}  # one per architecture in CI
STEPS = 2


def test_every_shipped_finetune_recipe_is_rehearsed():
    assert {p.stem for p in (RECIPES_DIR / "finetune").glob("*.yaml")} == set(ARCHITECTURE)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict:
    """A tiny random checkpoint per architecture (block size 512: the recipes' longest max_seq_length)."""
    root = tmp_path_factory.mktemp("arch")
    return {a: tiny_checkpoint(root / str(a), architecture=a, block_size=512, init_std=0.02)
            for a in set(ARCHITECTURE.values())}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The working directory a GPU user has: instruction-data.json, data/cola/ (CoLA's layout, sentences from the
    project's grammar set) and data/tenny/ (#context/#response JSONL), all made offline."""
    root = tmp_path_factory.mktemp("work")
    entries = json.loads((DATA_DIR / "instructions" / "instruction-data.json").read_text(encoding="utf-8"))
    (root / "instruction-data.json").write_text(json.dumps(entries))
    with open(DATA_DIR / "grammar" / "train.tsv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    (root / "data" / "cola").mkdir(parents=True)
    for name, part in (("in_domain_train.tsv", rows[:64]), ("in_domain_dev.tsv", rows[64:96]),
                       ("out_of_domain_dev.tsv", rows[96:128])):
        lines = [f"gj04\t{r['label']}\t{'' if r['label'] == '1' else '*'}\t{r['sentence']}\n" for r in part]
        (root / "data" / "cola" / name).write_text("".join(lines), encoding="utf-8")
    (root / "data" / "tenny").mkdir(parents=True)
    for name, part in (("train.jsonl", entries[:40]), ("valid.jsonl", entries[40:50])):
        texts = [{"text": f"#context\n\n{e['instruction']}\n\n#response\n\n{e['output']}"} for e in part]
        (root / "data" / "tenny" / name).write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
    return root


def train_losses(out_dir: Path) -> tuple[list[float], list[float]]:
    """(train loss per iteration, i.e. per micro batch, val losses) from LitGPT's metrics.csv."""
    metrics = sorted((out_dir / "logs" / "csv").glob("version_*/metrics.csv"))[-1]
    with open(metrics, newline="") as f:
        rows = list(csv.DictReader(f))
    return ([float(r["loss"]) for r in rows if r.get("loss")], [float(r["val_loss"]) for r in rows if r.get("val_loss")])


def rehearse(name: str, checkpoint: Path, out_dir: Path, *extra: str) -> dict:
    """`workshop run NAME --set checkpoint_dir=... --set out_dir=... --set train.max_steps=2 ...`; what it left."""
    recipe = yaml.safe_load((RECIPES_DIR / "finetune" / f"{name}.yaml").read_text())
    sets = [f"checkpoint_dir={checkpoint}", f"out_dir={out_dir}", f"train.max_steps={STEPS}", "eval.max_iters=2"]
    if recipe.get("quantize"):
        sets.append("quantize=")  # CPU: Fabric refuses bitsandbytes; everything else unchanged
    if int(recipe.get("devices", 1)) > 1:
        sets.append("devices=1")  # `workshop run` refuses more devices than GPUs; 2 processes: test below
    start = time.perf_counter()
    assert main(["run", name, *[a for s in sets + list(extra) for a in ("--set", s)]]) == 0
    seconds = time.perf_counter() - start
    record = json.loads((out_dir / "final" / "workshop_recipe.json").read_text())
    train, val = train_losses(out_dir)
    steps = len(train) // accumulation(record["recipe"])
    print(f"\nREHEARSAL {name} ({ARCHITECTURE[name] or 'SmolLM2-style llama'}, tiny): {steps} steps ({len(train)} micro "
          f"batches) in {seconds:.0f} s, train loss {train[0]:.3f} -> {train[-1]:.3f}, final val loss "
          f"{record['final_val_loss']:.3f}")
    return {"record": record, "train": train, "val": val, "seconds": seconds, "steps": steps}


def accumulation(recipe: dict) -> int:
    """Micro batches per optimizer step on each device."""
    train = recipe["train"]
    return train["global_batch_size"] // (train["micro_batch_size"] * int(recipe["devices"]) * int(recipe["num_nodes"]))


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in FAST else [pytest.mark.slow]) for n in ARCHITECTURE])
def test_recipe_runs_on_cpu(name, checkpoints, workdir, tmp_path, monkeypatch):
    monkeypatch.chdir(workdir)  # the recipes' relative data paths, as on the GPU box
    out_dir = tmp_path / name
    shipped = yaml.safe_load((RECIPES_DIR / "finetune" / f"{name}.yaml").read_text())
    result = rehearse(name, checkpoints[ARCHITECTURE[name]], out_dir)
    used = result["record"]["recipe"]
    assert result["steps"] == STEPS and len(result["train"]) == STEPS * accumulation(used)
    assert all(0 < x < 20 for x in result["train"])
    assert result["val"] and result["record"]["final_val_loss"] == pytest.approx(result["val"][-1], abs=1e-3)
    for key in ("lora_r", "lora_alpha", "lora_query", "lora_value", "precision"):  # the recipe's own settings ran
        if key in shipped and shipped[key] != "auto":
            assert used[key] == shipped[key], key
    for key in ("micro_batch_size", "global_batch_size", "max_seq_length"):
        if key in shipped.get("train", {}):
            assert used["train"][key] == shipped["train"][key], key
    assert used["quantize"] is None and used["devices"] == 1
    model_config = yaml.safe_load((out_dir / "final" / "model_config.yaml").read_text())
    assert model_config["name"] == (ARCHITECTURE[name] or "tiny-llama")
    lora = out_dir / "final" / "lit_model.pth.lora"
    assert lora.is_file() and (out_dir / "final" / "lit_model.pth").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["phi-2-lora-4gpu", "llama-3-8b-instruct-lora-4gpu"])
def test_multi_gpu_recipe_on_two_cpu_processes(name, checkpoints, workdir, tmp_path, monkeypatch):
    """LitGPT's FSDP strategy (ModelParallelStrategy, data parallel over 2 gloo ranks) on the config `workshop run`
    wrote for the recipe, run as LitGPT's own CLI does it, with devices: 2."""
    monkeypatch.chdir(workdir)
    one = tmp_path / "one"
    rehearse(name, checkpoints[ARCHITECTURE[name]], one)
    config = yaml.safe_load((one / "litgpt-config.yaml").read_text())
    config.update(devices=2, out_dir=str(tmp_path / "two"))
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(config))
    litgpt = Path(sys.executable).with_name("litgpt")
    start = time.perf_counter()
    proc = subprocess.run([str(litgpt), "finetune_lora", "--config", str(tmp_path / "two.yaml")], cwd=workdir,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    train, val = train_losses(tmp_path / "two")
    steps = len(train) // accumulation(config)
    print(f"\nREHEARSAL {name} on 2 CPU processes (LitGPT CLI, FSDP over gloo): {steps} steps ({len(train)} micro "
          f"batches per rank) in {time.perf_counter() - start:.0f} s, train loss {train[0]:.3f} -> {train[-1]:.3f}, "
          f"final val loss {val[-1]:.3f}")
    assert steps == STEPS and (tmp_path / "two" / "final" / "lit_model.pth.lora").is_file()


@pytest.mark.slow
def test_workshop_phi_2_pipeline_on_cpu(checkpoints, workdir, tmp_path, monkeypatch):
    """pipelines/workshop-phi-2 end to end: the checkpoints found where its download steps put them (no network),
    the split from a local file, 2 finetune steps, 4 test entries, 4 MMLU questions; report.html written."""
    monkeypatch.chdir(workdir)
    root = tmp_path / "checkpoints"
    for repo, arch in (("microsoft/phi-2", "phi-2"), ("meta-llama/Meta-Llama-3-8B-Instruct", "Llama-3-8B-Instruct")):
        shutil.copytree(checkpoints[arch], root / repo)
    mmlu = tmp_path / "mmlu" / "test"
    mmlu.mkdir(parents=True)
    (mmlu / "philosophy_test.csv").write_text("".join(
        f"Which thinker wrote about {w}?,Plato,Kant,Hume,Locke,{'ABCD'[i % 4]}\n"
        for i, w in enumerate(["virtue", "duty", "causation", "property"])))
    sets = [f"out_dir={tmp_path / 'run'}", f"steps.0.with.checkpoint_dir={root}", f"steps.1.with.checkpoint_dir={root}",
            f"steps.2.with.data={workdir / 'instruction-data.json'}", "steps.2.with.sha256=", "steps.2.with.limit_test=4",
            "steps.3.with.max_new_tokens=16", "steps.5.with.max_new_tokens=16",
            f"steps.4.with.train.max_steps={STEPS}", "steps.4.with.eval.max_iters=2",
            f"steps.7.with.data_dir={mmlu.parent}"]
    start = time.perf_counter()
    assert main(["run", "pipelines/workshop-phi-2", *[a for s in sets for a in ("--set", s)]]) == 0
    run = tmp_path / "run"
    record = json.loads(next(run.rglob("final/workshop_recipe.json")).read_text())
    train, _ = train_losses(Path(record["metrics"]).parents[3])
    steps = len(train) // accumulation(record["recipe"])
    summary = json.loads(next(run.rglob("judge/summary.json")).read_text())
    print(f"\nREHEARSAL pipelines/workshop-phi-2 (tiny phi-2 + tiny Llama 3 judge): {time.perf_counter() - start:.0f} s, "
          f"finetune {steps} steps ({len(train)} micro batches), train loss {train[0]:.3f} -> {train[-1]:.3f}, "
          f"final val loss {record['final_val_loss']:.3f}")
    assert steps == STEPS
    assert summary and (run / "report.html").is_file()
