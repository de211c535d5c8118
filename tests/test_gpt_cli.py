"""`workshop gpt pretrain|generate`, presets and the embedded corpus."""

from __future__ import annotations

import importlib.util
import json

import pytest

from workshop.cli.main import main
from workshop.core.errors import WorkshopError
from workshop.gpt.config import load_pretrain_config
from workshop.gpt.data import DEFAULT_CORPUS


def test_pretrain_generate_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["gpt", "pretrain", "--out", str(out), "--max-steps", "3", "--no-progress"]
    assert main(args) == 0
    for name in ("model.pth", "resume/state.pth", "losses.png", "metrics.jsonl", "samples.jsonl", "config.json"):
        assert (out / name).is_file(), name
    first = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert first["step"] == 0 and 9.5 < first["val_loss"] < 11.5
    printed = capsys.readouterr().out
    assert "val loss" in printed and "at step 2 (the last)" in printed
    assert json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 2  # the last step's loss

    assert main(args[:-3] + ["--max-steps", "5", "--no-progress"]) == 0  # resumes at step 3
    assert "Ep 1 (Step 000003)" not in capsys.readouterr().out  # eval_freq 10: no eval between 3 and 5
    assert json.loads((out / "samples.jsonl").read_text().splitlines()[-1])["step"] == 4

    assert main(["gpt", "generate", "--checkpoint", str(out), "--prompt", "Once there was", "--max-new-tokens", "5"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Once there was") and len(text) > len("Once there was\n")


def test_pretrain_text_file_and_changed_config_on_resume(tmp_path, capsys):
    text_file = tmp_path / "story.txt"
    text_file.write_text(DEFAULT_CORPUS.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    out = tmp_path / "run"
    assert main(["gpt", "pretrain", "--text", str(text_file), "--out", str(out), "--max-steps", "1", "--no-progress"]) == 0
    assert json.loads((out / "config.json").read_text())["data"]["text"] == str(text_file)
    assert main(["gpt", "pretrain", "--out", str(out), "--max-steps", "2", "--no-progress"]) == 2
    assert "data.text was" in capsys.readouterr().err


def test_missing_files_are_one_line_errors(tmp_path, capsys):
    assert main(["gpt", "generate", "--checkpoint", str(tmp_path / "nope"), "--prompt", "Hi"]) == 2
    assert main(["gpt", "pretrain", "--text", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o")]) == 2
    assert main(["gpt", "pretrain", "--config", str(tmp_path / "missing.yaml")]) == 2
    (tmp_path / "bad.pth").write_text("not a checkpoint")
    assert main(["gpt", "generate", "--checkpoint", str(tmp_path / "bad.pth"), "--prompt", "Hi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and "bad.pth: not a readable model weights file" in err[3] and all(line.startswith("workshop: error: ") for line in err)
    assert "nope/model.pth: model weights file not found" in err[0] and "missing.txt: text file not found" in err[1]
    assert "Traceback" not in "".join(err)


def test_presets_load_and_bad_yaml_is_rejected(tmp_path):
    verdict = load_pretrain_config("the-verdict")
    assert verdict.model.context_length == 256 and verdict.data.batch_size == 2 and verdict.data.stride == 256
    assert (verdict.train.lr, verdict.train.weight_decay, verdict.train.num_epochs) == (0.0004, 0.1, 10)
    assert (verdict.train.eval_freq, verdict.train.eval_iter, verdict.train.seed) == (5, 5, 123)
    assert verdict.model.attn_impl == "eager" and verdict.model.n_layers == 12  # the book's GPT-2 124M
    bad = tmp_path / "bad.yaml"
    for content, message in [
        ("train:\n  epochs: 3\n", r"bad.yaml: train.epochs: unknown key; did you mean train.num_epochs\?"),
        ("train:\n  lr: fast\n", r"bad.yaml: train.lr: 'fast' is not a number; use a number above 0"),
        ("model:\n  n_layers: 2.5\n", r"bad.yaml: model.n_layers: 2.5 is not a whole number; use a whole number of 1 or more"),
        ("model: [1, 2\n", r"bad.yaml:\d+: not valid YAML"),
        ("data:\n  batch_size: 0\n", r"data.batch_size: 0 is out of range; use a whole number of 1 or more"),
        ("data:\n  train_ratio: 1.5\n", r"data.train_ratio: .*1.5.*use a number between 0 and 1"),
        ("optimizer: {}\n", r"unknown section 'optimizer'"),
        ("model:\n  attn_impl: flash\n", r"model.attn_impl: use one of eager, sdpa"),
        ("model:\n  n_head: 4\n", r"model.n_head: unknown key; did you mean model.n_heads\?"),
    ]:
        bad.write_text(content)
        with pytest.raises(WorkshopError, match=message):
            load_pretrain_config(str(bad))


def test_embedded_corpus_is_reproducible():
    script = DEFAULT_CORPUS.with_name("make_corpus.py")
    spec = importlib.util.spec_from_file_location("make_corpus", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.make_corpus() == DEFAULT_CORPUS.read_text(encoding="utf-8")
    assert DEFAULT_CORPUS.read_text(encoding="utf-8").count("<|endoftext|>") == module.N_TALES - 1


def test_presets_and_the_pretrain_job_need_no_litgpt_extra():
    """`workshop.gpt` on a base install: jsonargparse and LitGPT (the [litgpt] extra) blocked, presets still check."""
    import subprocess
    import sys

    code = ("import sys\nfor name in ('jsonargparse', 'litgpt', 'lightning', 'transformers'): sys.modules[name] = None\n"
            "from workshop.gpt.config import load_pretrain_config\nimport workshop.gpt.jobs\n"
            "print(load_pretrain_config('the-verdict').model.n_layers)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "12", out.stderr
