"""Checkpoint locations, `workshop download` routing and its one-line errors (fast, no model)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch

import workshop
from workshop.models.checkpoints import REQUIRED_FILES, SMOLLM2_ALIAS, SMOLLM2_REPO, download, resolve_checkpoint
from workshop.cli.main import main
from workshop.core.errors import WorkshopError


def fake_checkpoint(path: Path, files=(*REQUIRED_FILES, "tokenizer.json")) -> Path:
    """A directory with the files LitGPT requires: an empty state dict, a one-key config, an empty tokenizer."""
    import torch

    path.mkdir(parents=True)
    for name in files:
        if name == "lit_model.pth":
            torch.save({}, path / name)
        else:
            (path / name).write_text("name: fake\n" if name == "model_config.yaml" else "")
    return path


@pytest.fixture
def offline_hub(monkeypatch):
    """Point the Hugging Face Hub at a closed localhost port: connecting fails at once."""
    import huggingface_hub.constants as constants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return port


@pytest.fixture
def fake_build(monkeypatch):
    """Replace the real SmolLM2 build by a recorder (routing tests need no model)."""
    import workshop.models.checkpoints as checkpoints

    calls = []

    def build(out_dir=None, force=False):
        calls.append((Path(out_dir), force))
        return Path(out_dir)

    monkeypatch.setattr(checkpoints, "build_smollm2", build)
    return calls


def test_resolve_directory_and_repo_id_under_cwd(tmp_path, monkeypatch):
    direct = fake_checkpoint(tmp_path / "my-model")
    assert resolve_checkpoint(direct) == direct
    assert resolve_checkpoint(str(direct)) == direct
    monkeypatch.chdir(tmp_path)
    fake_checkpoint(tmp_path / "checkpoints" / "org" / "name")
    assert resolve_checkpoint("org/name") == Path("checkpoints/org/name")
    fake_checkpoint(tmp_path / "checkpoints" / SMOLLM2_REPO)
    assert resolve_checkpoint(SMOLLM2_ALIAS) == Path("checkpoints") / SMOLLM2_REPO


def test_resolve_errors_name_path_and_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkshopError, match=r"no checkpoint at org/name; check the path"):
        resolve_checkpoint("org/name")
    with pytest.raises(WorkshopError, match=rf"SmolLM2 checkpoint not built yet; run `workshop download {SMOLLM2_ALIAS}`"):
        resolve_checkpoint(SMOLLM2_ALIAS)
    with pytest.raises(WorkshopError, match=r"^meta-llama/Meta-Llama-3-8B-Instruct is not downloaded yet .*"
                                            r"run `workshop download meta-llama/Meta-Llama-3-8B-Instruct`"):
        resolve_checkpoint("meta-llama/Meta-Llama-3-8B-Instruct")
    built = fake_checkpoint(tmp_path / "checkpoints" / "HuggingFaceTB" / "SmolLM2-135M-Instruct")
    with pytest.raises(WorkshopError, match=rf"no checkpoint at checkpoints/SmolLM2; did you mean {built.relative_to(tmp_path)}\?$"):
        resolve_checkpoint("checkpoints/SmolLM2")  # a mistyped path: the local checkpoint, not a download
    fake_checkpoint(tmp_path / "lora" / "final")
    with pytest.raises(WorkshopError, match="lora is a finetune output folder; its checkpoint is lora/final"):
        resolve_checkpoint("lora")
    built.joinpath("lit_model.pth").write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(WorkshopError, match=r"lit_model.pth is truncated or not a PyTorch file; re-create it "
                                            rf"\(`workshop download {SMOLLM2_ALIAS} --force`\)"):
        resolve_checkpoint(built)
    built.joinpath("model_config.yaml").write_text("name: [x\n")
    built.joinpath("lit_model.pth").unlink()
    torch.save({}, built / "lit_model.pth")
    with pytest.raises(WorkshopError, match=r"model_config.yaml:2: not valid YAML; re-create it"):
        resolve_checkpoint(built)
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkshopError, match="empty has no lit_model.pth"):
        resolve_checkpoint(tmp_path / "empty")
    partial = fake_checkpoint(tmp_path / "partial", files=("lit_model.pth", "model_config.yaml"))
    with pytest.raises(WorkshopError, match="partial: checkpoint is missing tokenizer.json or tokenizer.model"):
        resolve_checkpoint(partial)


def test_a_lora_step_folder_points_at_final_or_merge(tmp_path, monkeypatch, capsys):
    """LitGPT's step-NNNNNN saves hold the adapter alone: the error names the merged final/ or `litgpt merge_lora`."""
    monkeypatch.chdir(tmp_path)
    step = tmp_path / "out" / "step-000003"
    step.mkdir(parents=True)
    (step / "lit_model.pth.lora").write_bytes(b"")
    with pytest.raises(WorkshopError, match=r"^out/step-000003 holds LoRA weights only \(lit_model.pth.lora\); merge "
                                            r"them into its base model with `litgpt merge_lora out/step-000003`"):
        workshop.load("out/step-000003")
    fake_checkpoint(tmp_path / "out" / "final")
    with pytest.raises(WorkshopError, match=r"use the run's merged checkpoint out/final, or merge them"):
        resolve_checkpoint("out/step-000003")
    assert main(["generate", "--model", "out/step-000003", "--prompt", "hi"]) == 2
    err = capsys.readouterr().err
    assert "litgpt merge_lora out/step-000003" in err and "workshop download" not in err


def test_resolve_alias_builds_only_when_asked(tmp_path, monkeypatch, fake_build):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkshopError):
        resolve_checkpoint(SMOLLM2_ALIAS)
    assert fake_build == []
    assert resolve_checkpoint(SMOLLM2_ALIAS, build=True) == Path("checkpoints") / SMOLLM2_REPO
    assert fake_build == [(Path("checkpoints") / SMOLLM2_REPO, False)]


def test_download_without_network_fails_in_one_line(tmp_path, offline_hub, capsys):
    with pytest.raises(WorkshopError) as info:
        download("HuggingFaceTB/SmolLM2-360M-Instruct", checkpoint_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"no network: cannot reach http://127.0.0.1:{offline_hub}")
    assert f"`workshop download {SMOLLM2_ALIAS}`" in message
    assert main(["download", "microsoft/phi-2", "--checkpoint-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("workshop: error: no network") and SMOLLM2_ALIAS in err
    assert list(tmp_path.iterdir()) == []


def test_download_with_hf_hub_offline_set(tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(WorkshopError, match=r"no network \(HF_HUB_OFFLINE is set\)"):
        download("microsoft/phi-2", checkpoint_dir=tmp_path)


def test_download_unknown_repo_suggests_closest(tmp_path):
    with pytest.raises(WorkshopError, match="'microsoft/phi2' is not a repo LitGPT knows; did you mean 'microsoft/phi-2'"):
        download("microsoft/phi2", checkpoint_dir=tmp_path)
    with pytest.raises(WorkshopError, match=f"only {SMOLLM2_ALIAS} can be built offline"):
        download("microsoft/phi-2", checkpoint_dir=tmp_path, offline=True)


def test_download_skips_complete_checkpoint(tmp_path, offline_hub):
    target = fake_checkpoint(tmp_path / "microsoft" / "phi-2")
    assert download("microsoft/phi-2", checkpoint_dir=tmp_path) == target  # no network needed


def test_offline_routes_to_smollm2_build(tmp_path, offline_hub, fake_build, capsys):
    expected = tmp_path / SMOLLM2_REPO
    assert download(SMOLLM2_ALIAS, checkpoint_dir=tmp_path) == expected
    assert download(SMOLLM2_REPO, checkpoint_dir=tmp_path, offline=True, force=True) == expected
    assert download(SMOLLM2_REPO, checkpoint_dir=tmp_path) == expected  # no network: falls back
    assert "no network: building" in capsys.readouterr().err
    assert main(["download", "huggingfacetb/smollm2-135m", "--checkpoint-dir", str(tmp_path)]) == 2
    assert "did you mean 'HuggingFaceTB/SmolLM2-135M'?" in capsys.readouterr().err
    assert main(["download", SMOLLM2_ALIAS, "--checkpoint-dir", str(tmp_path), "--force"]) == 0
    assert capsys.readouterr().out.strip() == str(expected)
    assert fake_build == [(expected, False), (expected, True), (expected, False), (expected, True)]


def test_cli_help_lists_offline_alias(capsys):
    with pytest.raises(SystemExit) as info:
        main(["download", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for needle in (SMOLLM2_ALIAS, "--checkpoint_dir", "--access_token", "--force", "--offline", "checkpoints/<org>/<name>"):
        assert needle in out
