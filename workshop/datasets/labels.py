"""Classifiers by label words: labelled sentences as finetuning examples whose only target is the label word.

`LabelWords` is a LitGPT `DataModule` (a recipe's `data: {class_path:
workshop.datasets.labels.LabelWords, init_args: {...}}`): each row of a labelled file (CoLA's
TSV, CSV/TSV/JSONL as `workshop eval classify` reads them) becomes the prompt `eval classify`
builds (same template, label words, shots and quoting) followed by the label word. The
prompt tokens are masked (-100, as LitGPT's `mask_prompt`) and no EOS is added, so the loss
falls on the label word alone, tokenized exactly as `eval classify` scores it (the prompt's
trailing spaces moved in front of the word).

`workshop data classify-to-instructions` writes the same examples as Alpaca-style JSON
(`instruction` = the prompt, `output` = the label word) for LitGPT's own `JSON` data module
with `prompt_style: {class_path: litgpt.prompts.Default}` (the prompt used as is) and
`mask_prompt: true`; that module appends EOS to every target, so the loss then falls on the
label word and EOS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from litgpt.data import DataModule, get_sft_collate_fn
from litgpt.prompts import Default, PromptStyle
from litgpt.tokenizer import Tokenizer
from torch.utils.data import DataLoader, Dataset

from workshop.core.errors import WorkshopError
from workshop.datasets.label_prompts import build_prompt, few_shot_examples, label_continuation, labelled_rows, load_template
from workshop.core.types import ExistingFile, NonNegativeInt, OpenUnitInterval, OutputFile


def label_examples(path: str | Path, labels: str, prompt: str = "default", shots: int = 0,
                   shots_data: str | Path | None = None, quote_labels: bool = False, seed: int = 0,
                   text_field: str | None = None, label_field: str = "label") -> list[dict[str, Any]]:
    """One {"index", "text", "instruction" (the full prompt), "output" (the label word)} per row used.

    Rows taken as few-shot examples (shots from `path` itself) are left out.
    """
    template = load_template(prompt)
    rows, words, _ = labelled_rows(path, labels, text_field, label_field)
    examples, used = few_shot_examples(shots, seed, labels, rows, shots_data, text_field, label_field)
    return [{"index": i, "text": text, "instruction": build_prompt(template, words, examples, text, quote_labels),
             "output": word} for i, (text, word) in enumerate(rows) if i not in used]


class LabelWordDataset(Dataset):
    """Tokenized label-word examples: `input_ids` = prompt + label word, `labels` = -100 on the prompt."""

    def __init__(self, data: list[dict[str, Any]], tokenizer: Tokenizer, max_seq_length: int = -1,
                 ignore_index: int = -100, where: str = "<data>") -> None:
        self.data = data  # LitGPT's generate_example reads data[i]["instruction"]
        self.items = []

        def encode(text: str, bos: bool | None = None) -> list[int]:
            return tokenizer.encode(text, bos=bos).tolist()

        for example in data:
            context, word = label_continuation(encode, example["instruction"], example["output"])
            ids = context + word
            if 0 < max_seq_length < len(ids):
                raise WorkshopError(f"{where}: row {example['index'] + 1} needs {len(ids)} tokens, more than "
                                    f"train.max_seq_length={max_seq_length}; raise it or use fewer shots")
            self.items.append({
                "input_ids": torch.tensor(ids, dtype=torch.int64),
                "labels": torch.tensor([ignore_index] * len(context) + word, dtype=torch.int64),
                "token_counts": {"raw": len(encode(example["text"], bos=False)) + len(word), "raw_plus_prompt_template": len(ids)},
            })

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        return self.items[idx]


@dataclass
class LabelWords(DataModule):
    """Labelled sentences for label-word finetuning: the `eval classify` prompt, the label word as the only target."""

    train_path: Path
    """Labelled training file: CoLA's TSV as is, CSV/TSV with a header, or JSONL (as `workshop eval classify` reads)."""
    labels: str = "acceptable,unacceptable"
    """Label words, as `eval classify --labels`: 'acceptable,unacceptable' (0/1 data: 1 = first) or '1=yes,0=no'."""
    val_path: Path | None = None
    """Labelled validation file; None = hold out `val_split_fraction` of the training rows."""
    val_split_fraction: OpenUnitInterval = 0.1
    """Share of the training rows held out for validation loss when `val_path` is None."""
    prompt: str = "default"
    """Template name in evals/classify/ (default, cola, pattern, sentiment) or a YAML path."""
    shots: NonNegativeInt = 0
    """Labelled examples in every prompt (taken from the training file, then not trained on)."""
    quote_labels: bool = False
    """Label words in double quotes ("acceptable"), as `eval classify --quote-labels`."""
    text_field: str | None = None
    """Text column/key (default: sentence or text)."""
    label_field: str = "label"
    """Label column/key."""
    seed: int = 42
    """Seed of the validation split, of the shots and of the shuffling."""
    num_workers: int = 0
    """DataLoader worker processes."""
    ignore_index: int = -100
    """Label id of the masked (prompt) positions."""

    prompt_style: PromptStyle = field(default_factory=Default, init=False, repr=False)  # the prompt is used as is
    tokenizer: Tokenizer | None = field(default=None, init=False, repr=False)
    batch_size: int = field(default=1, init=False, repr=False)
    max_seq_length: int = field(default=-1, init=False, repr=False)
    train_dataset: LabelWordDataset | None = field(default=None, init=False, repr=False)
    test_dataset: LabelWordDataset | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__init__()

    def connect(self, tokenizer: Tokenizer | None = None, batch_size: int = 1, max_seq_length: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_seq_length = -1 if max_seq_length is None else max_seq_length

    def splits(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(train, validation) examples."""
        kwargs = dict(labels=self.labels, prompt=self.prompt, shots=self.shots, quote_labels=self.quote_labels,
                      seed=self.seed, text_field=self.text_field, label_field=self.label_field)
        train = label_examples(self.train_path, **kwargs)
        if self.val_path is not None:
            shots_from = self.train_path if self.shots else None  # validation prompts show the training shots
            return train, label_examples(self.val_path, **{**kwargs, "shots_data": shots_from})
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed)).tolist()
        n_val = max(1, round(len(train) * self.val_split_fraction))
        return [train[i] for i in order[n_val:]], [train[i] for i in order[:n_val]]

    def setup(self, stage: str = "") -> None:
        train, val = self.splits()
        self.train_dataset = LabelWordDataset(train, self.tokenizer, self.max_seq_length, self.ignore_index, str(self.train_path))
        self.test_dataset = LabelWordDataset(val, self.tokenizer, self.max_seq_length, self.ignore_index,
                                             str(self.val_path or self.train_path))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_dataset, batch_size=self.batch_size, shuffle=True,
                          generator=torch.Generator().manual_seed(self.seed), num_workers=self.num_workers,
                          collate_fn=get_sft_collate_fn(max_seq_length=self.max_seq_length, ignore_index=self.ignore_index))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.test_dataset, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers,
                          collate_fn=get_sft_collate_fn(max_seq_length=self.max_seq_length, ignore_index=self.ignore_index))


def classify_to_instructions(
    data: ExistingFile,
    out: OutputFile,
    labels: str = "acceptable,unacceptable",
    prompt: str = "default",
    shots: NonNegativeInt = 0,
    shots_data: Path | None = None,
    quote_labels: bool = False,
    seed: int = 0,
    text_field: str | None = None,
    label_field: str = "label",
) -> Path:
    """Turn a labelled file into instruction JSON whose output is the label word (the `eval classify` prompt).

    For LitGPT's `JSON` data module with `prompt_style: {class_path: litgpt.prompts.Default}` and
    `mask_prompt: true` (which adds EOS to the target); `workshop.datasets.labels.LabelWords` trains
    on the word alone.

    Args:
        data: labelled file: CoLA's TSV as is, CSV/TSV with a header, or JSONL
        out: output .json (or .jsonl)
        labels: label words, e.g. 'acceptable,unacceptable' (0/1 data: 1 = first) or '1=yes,0=no'
        prompt: template name in evals/classify/ (default, cola, pattern, sentiment) or a YAML path
        shots: labelled examples in every prompt
        shots_data: file to take the examples from (default: data, and those rows are left out)
        quote_labels: label words in double quotes ("acceptable")
        seed: seed for picking the examples
        text_field: text column/key (default: sentence or text)
        label_field: label column/key
    """
    from workshop.datasets.instructions import write_instructions

    entries = []
    for example in label_examples(data, labels, prompt, shots, shots_data, quote_labels, seed, text_field, label_field):
        context = example["instruction"].rstrip(" ")  # the trailing spaces go in front of the word, as scored
        entries.append({"instruction": context, "input": "",
                        "output": example["instruction"][len(context):] + example["output"]})
    return write_instructions(out, entries)
