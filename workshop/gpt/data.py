"""Input/target pairs for next-token prediction (workshop section 2) and text loading.

`GPTDatasetV1` slides a window of `max_length` tokens over one long text with step `stride`;
each target is its input shifted one token to the right. `load_text` reads a file or
downloads a URL into the workshop cache (sha256-checked), so a corpus is one argument away.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from workshop.core.errors import WorkshopError
from workshop.core.fetch import cached_download, is_url, sha256_of
from workshop.gpt.tokenizer import END_OF_TEXT, gpt2_tokenizer
from workshop.core.paths import DATA_DIR

# The default pretraining corpus: a short text this project writes itself (data/pretrain/make_corpus.py).
DEFAULT_CORPUS = DATA_DIR / "pretrain" / "workshop-tales.txt"
THE_VERDICT_URL = "https://raw.githubusercontent.com/rasbt/LLMs-from-scratch/main/ch02/01_main-chapter-code/the-verdict.txt"
# Known texts and their sha256, checked when no hash is given.
KNOWN_SHA256 = {THE_VERDICT_URL: "b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f"}


class GPTDatasetV1(Dataset):
    """Chunks of `max_length` token ids (inputs) and the same chunks shifted by one (targets)."""

    def __init__(self, txt: str, tokenizer, max_length: int, stride: int):
        self.input_ids: list[torch.Tensor] = []
        self.target_ids: list[torch.Tensor] = []
        token_ids = tokenizer.encode(txt, allowed_special={END_OF_TEXT})
        # The window needs one extra token for the shifted target, hence `- max_length`.
        for i in range(0, len(token_ids) - max_length, stride):
            self.input_ids.append(torch.tensor(token_ids[i : i + max_length]))
            self.target_ids.append(torch.tensor(token_ids[i + 1 : i + max_length + 1]))

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.input_ids[idx], self.target_ids[idx]


def create_dataloader_v1(
    txt: str,
    batch_size: int = 4,
    max_length: int = 256,
    stride: int = 128,
    shuffle: bool = True,
    drop_last: bool = True,
    num_workers: int = 0,
) -> DataLoader:
    """A DataLoader of (inputs, targets) batches, each [batch_size, max_length], GPT-2 tokens."""
    dataset = GPTDatasetV1(txt, gpt2_tokenizer(), max_length, stride)
    if len(dataset) == 0:
        raise WorkshopError(
            f"text of {len(txt):,} characters has too few tokens for one window of max_length={max_length} "
            "(+1 for the target); use a longer text or a shorter max_length/context_length"
        )
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, num_workers=num_workers)


def train_val_loaders(
    text: str, batch_size: int, max_length: int, stride: int, train_ratio: float = 0.9, num_workers: int = 0
) -> tuple[DataLoader, DataLoader]:
    """Split `text` by characters at `train_ratio` and build the workshop's train/val loaders."""
    split_idx = int(train_ratio * len(text))
    train_loader = create_dataloader_v1(
        text[:split_idx], batch_size, max_length, stride, shuffle=True, drop_last=True, num_workers=num_workers
    )
    val_loader = create_dataloader_v1(
        text[split_idx:], batch_size, max_length, stride, shuffle=False, drop_last=False, num_workers=num_workers
    )
    if len(train_loader) == 0:
        raise WorkshopError(
            f"the {train_ratio:.0%} train split gives fewer than batch_size={batch_size} windows of {max_length} "
            "tokens; use a longer text or a smaller batch_size/context_length"
        )
    return train_loader, val_loader


def load_text(path_or_url: str | Path, sha256: str | None = None) -> str:
    """Read a UTF-8 text file, or download a URL once into the cache and read it from there."""
    source = str(path_or_url)
    if is_url(source):
        path = cached_download(source, sha256=sha256 or KNOWN_SHA256.get(source))
    else:
        path = Path(source)
        if not path.is_file():
            raise WorkshopError(f"{path}: text file not found; pass an existing file or an http(s) URL")
        if sha256 is not None and sha256_of(path) != sha256:
            raise WorkshopError(f"{path}: sha256 differs from the expected {sha256}; check the file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise WorkshopError(f"{path}: not UTF-8 text (byte {e.start}); convert it to UTF-8") from None
