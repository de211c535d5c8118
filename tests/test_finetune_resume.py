"""Resumable LoRA finetuning: a run killed with SIGKILL (or stopped by SIGTERM) and resumed ends with the
LoRA weights of an uninterrupted run; one metrics.csv; the messages say what happens; the progress bar."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import workshop
import workshop.finetune.resume as resume
from workshop.cli.main import main
from workshop.finetune.progress import ProgressBar, _KeepingWriter
from workshop.finetune.resume import STATE_PATH, Batches, FinetuneInterrupted, Session
from workshop.core.paths import DATA_DIR

KILLER = """
import os, signal, sys
import workshop.finetune.resume as resume
STEP, SIG = int(sys.argv[2]), getattr(signal, sys.argv[3])
step_end = resume.Session.step_end
def kill_at(self, state):
    if state["step_count"] == STEP:
        os.kill(os.getpid(), SIG)
    return step_end(self, state)
resume.Session.step_end = kill_at
from workshop.cli.main import main
sys.exit(main(["run", sys.argv[1]]))
"""


def recipe(checkpoint_dir: Path, out_dir: Path, **train) -> dict:
    """8 optimizer steps of 2 accumulated micro-batches, dropout on (so the RNG matters), saved every 3 steps."""
    return {
        "job": "finetune_lora", "checkpoint_dir": str(checkpoint_dir), "out_dir": str(out_dir),
        "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.1,
        "data": {"class_path": "JSON", "init_args": {
            "json_path": str(DATA_DIR / "instructions" / "instruction-data.json"), "val_split_fraction": 0.05,
            "num_workers": 0}},
        "train": {"max_steps": 8, "epochs": 1, "micro_batch_size": 2, "global_batch_size": 4, "lr_warmup_steps": 1,
                  "max_seq_length": 48, "save_interval": 3, **train},
        "eval": {"interval": 2, "max_iters": 2, "max_new_tokens": 4},
        "logger_name": "csv",
    }


def write(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


def lora(out_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(out_dir / "final" / "lit_model.pth.lora", weights_only=True)["model"]


def max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert set(a) == set(b)
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def metrics_rows(out_dir: Path) -> list[dict[str, str]]:
    files = sorted((out_dir / "logs" / "csv").glob("version_*/metrics.csv"))
    assert len(files) == 1, files  # a resumed run keeps writing the same file
    with open(files[0], newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def uninterrupted(tiny_checkpoint_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "out"
    assert main(["run", str(write(out.parent / "r.yaml", recipe(tiny_checkpoint_dir, out)))]) == 0
    return out


def test_sigkill_then_rerun_reaches_the_uninterrupted_weights(uninterrupted, tiny_checkpoint_dir, tmp_path, capsys):
    out = tmp_path / "out"
    path = write(tmp_path / "r.yaml", recipe(tiny_checkpoint_dir, out))
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": str(Path(workshop.__file__).parents[1])}  # this checkout's package
    killed = subprocess.run([sys.executable, str(script), str(path), "5", "SIGKILL"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    state = torch.load(out / STATE_PATH, weights_only=True)
    assert (state["step_count"], state["iter_num"]) == (3, 6)  # the last save_interval before step 5: steps 4-5 are lost
    assert not (out / "final").exists()

    assert main(["run", str(path)]) == 0  # the same command resumes
    err = capsys.readouterr().err
    assert "resuming at step 3 of 8" in err
    assert max_diff(lora(out), lora(uninterrupted)) <= 1e-6
    rows, whole = metrics_rows(out), metrics_rows(uninterrupted)
    train_rows = lambda rs: [(r["iter"], r["step"], r["learning_rate"], r["tokens"], round(float(r["loss"]), 6))  # noqa: E731
                             for r in rs if r.get("loss")]
    assert train_rows(rows) == train_rows(whole)  # every iteration once, global numbers, same LR, tokens and losses
    val = lambda rs: [(r["step"], round(float(r["val_loss"]), 5)) for r in rs if r.get("val_loss")]  # noqa: E731
    assert val(rows) == val(whole)  # validation at the same iterations, same losses
    assert sorted(p.name for p in out.glob("step-*")) == ["step-000003", "step-000006"]
    assert not (out / "resume").exists()  # spent once final/ is written
    assert "[workshop] resumed at step 3 (iteration 6)" in (out / "train.log").read_text()
    assert log_lines(out) == log_lines(uninterrupted)  # train.log: the same step, loss and val loss on every line


def log_lines(out_dir: Path) -> dict[str, tuple[str, ...]]:
    """iteration -> (step, train loss, val loss shown) from train.log's per-iteration lines (the last for each)."""
    pattern = re.compile(r"iter (\d+) step (\d+) \| loss train: ([\d.]+), val: (\S+) \|")
    return {m[1]: m.groups()[1:] for m in pattern.finditer((out_dir / "train.log").read_text())}


def test_sigterm_stops_at_the_step_boundary_and_says_what_happens(uninterrupted, tiny_checkpoint_dir, tmp_path,
                                                                  monkeypatch, capsys):
    out = tmp_path / "out"
    path = write(tmp_path / "r.yaml", recipe(tiny_checkpoint_dir, out))
    step_end, handler = resume.Session.step_end, signal.getsignal(signal.SIGTERM)

    def term_at_5(self, state):
        if state["step_count"] == 5 and self.stop_signal is None:
            os.kill(os.getpid(), signal.SIGTERM)  # handled by the run: finish the step, save, stop
        return step_end(self, state)

    monkeypatch.setattr(resume.Session, "step_end", term_at_5)
    assert main(["run", str(path)]) == 130
    err = capsys.readouterr().err
    assert "workshop: SIGTERM: finishing step 5 to save it, then stopping" in err
    assert ("workshop: stopped by SIGTERM at step 5 of 8. Saved: LoRA weights, optimizer, LR scheduler, data position "
            f"and RNG state of step 5 in {out / STATE_PATH}. Running the same command again resumes there and runs "
            "steps 6-8 (--force starts over)") in err
    assert torch.load(out / STATE_PATH, weights_only=True)["step_count"] == 5
    assert signal.getsignal(signal.SIGTERM) is handler  # the handlers are put back

    monkeypatch.setattr(resume.Session, "step_end", step_end)
    assert main(["run", str(path)]) == 0
    assert max_diff(lora(out), lora(uninterrupted)) <= 1e-6


def test_a_changed_recipe_does_not_resume_a_stale_state(tiny_checkpoint_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    path = write(tmp_path / "r.yaml", recipe(tiny_checkpoint_dir, out, max_steps=4))
    step_end = resume.Session.step_end

    def stop_at_3(self, state):
        if state["step_count"] == 3:
            self.stop_signal = signal.SIGINT
        return step_end(self, state)

    monkeypatch.setattr(resume.Session, "step_end", stop_at_3)
    assert main(["run", str(path)]) == 130
    assert "stopped by Ctrl-C at step 3 of 4" in capsys.readouterr().err
    monkeypatch.setattr(resume.Session, "step_end", step_end)
    changed = write(tmp_path / "r.yaml", recipe(tiny_checkpoint_dir, out, max_steps=5))
    assert main(["run", str(changed)]) == 2
    err = capsys.readouterr().err
    assert f"{out / STATE_PATH}: saved at step 3 by a different recipe or data" in err and "--force" in err
    assert main(["run", str(changed), "--force"]) == 0
    assert "starting" in capsys.readouterr().err and not (out / "resume").exists()


@pytest.mark.parametrize("generator", [None, 0])  # shuffled by the global RNG, or by the loader's own generator
def test_batches_continue_where_they_stopped_mid_epoch_at_its_end_and_past_it(generator):
    from torch.utils.data import DataLoader

    loader = DataLoader(list(range(5)), batch_size=2, shuffle=True,  # 3 batches an epoch
                        generator=None if generator is None else torch.Generator().manual_seed(generator))
    for taken in (2, 3, 4):
        torch.manual_seed(1)
        whole = Batches(loader)
        for _ in range(taken):
            next(whole)
        position, rng = dict(whole.position), torch.get_rng_state()
        rest = [next(whole).tolist() for _ in range(7)]  # the uninterrupted run's next batches, 2-3 epochs on
        torch.manual_seed(2)  # a fresh process: the RNG elsewhere
        resumed = Batches(loader, position)
        torch.set_rng_state(rng)  # as `Session.batches` restores the saved step's RNG
        assert [next(resumed).tolist() for _ in range(7)] == rest and resumed.epoch == whole.epoch >= 2


def test_a_second_ctrl_c_names_the_step_the_first_one_announced(tmp_path, capsys):
    """Ctrl-C in step 5 says "finishing step 5"; a second one stops at once and says step 5 did not finish."""
    session = Session(tmp_path, "hash", {"step_count": 3, "total": 8, "finished": False}, ProgressBar())
    session.state, session.accum, session.in_loop = {"iter_num": 9, "step_count": 4}, 2, True
    session.install_signals()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(FinetuneInterrupted) as stopped:
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        session.restore_signals()
    assert "workshop: Ctrl-C: finishing step 5 to save it, then stopping" in capsys.readouterr().err
    assert str(stopped.value).startswith("stopped by Ctrl-C in step 5 of 8 before it finished. Saved: LoRA weights, "
                                         "optimizer, LR scheduler, data position and RNG state of step 3")
    assert "runs steps 4-8" in str(stopped.value)
    session.state["iter_num"] = 8  # between steps (4 done, 5 not begun): it stops at step 4 and says so
    assert session.running_step() == 4 and session.stopped_message("Ctrl-C").startswith("stopped by Ctrl-C at step 4 of 8.")


def test_metrics_file_is_kept_up_to_the_resumed_iteration(tmp_path):
    log_dir = tmp_path / "version_0"
    log_dir.mkdir()
    rows = "step,loss,val_loss\n1,2.0,\n2,1.9,\n2,,1.8\n3,1.7,\n4,1.6,\n0,,1.5\n"  # 0: LitGPT's final validation
    (log_dir / "metrics.csv").write_text(rows)
    writer = _KeepingWriter(str(log_dir), keep_until=2)
    assert (log_dir / "metrics.csv").read_text().splitlines() == ["loss,step,val_loss", "2.0,1,", "1.9,2,", ",2,1.8"]
    writer.log_metrics({"loss": 1.75}, step=3)
    writer.save()
    assert (log_dir / "metrics.csv").read_text().splitlines()[-1] == "1.75,3,"


def test_progress_bar_follows_litgpts_logging(capsys):
    bar = ProgressBar()
    bar.start(total=10, done=4)
    bar.log_metrics({"loss": 1.2346, "iter": 10, "step": 5}, step=10)
    bar.log_metrics({"val_loss": 1.5}, step=10)
    bar.log_metrics({"val_loss": 1.25})  # the final validation has no step
    assert (bar.bar.n, bar.final_val_loss) == (5, 1.25)
    bar.close()
    line = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert line.startswith("finetune:  50%|") and " 5/10 [" in line and "loss=1.235, val_loss=1.250" in line


def test_a_multi_device_run_keeps_litgpts_save_folders_only(tmp_path, capsys):
    """FSDP shards the optimizer: a sharded run is not saved for resume; LitGPT's step folders are its saves."""
    from types import SimpleNamespace

    fabric = SimpleNamespace(world_size=2, print=lambda *a, **k: print(*a, **k))
    session = Session(tmp_path, "hash", None, ProgressBar())
    state = {"iter_num": 6, "step_count": 3}
    session.start(fabric, state, accum=2, save_interval=3, total=8)
    assert not session.resumable and "2 devices: LitGPT's save_interval folders only" in capsys.readouterr().err
    session.step_end(state)
    assert not (tmp_path / STATE_PATH).exists()
