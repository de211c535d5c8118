"""lm-eval's own MMLU tasks, fed from the official CSV layout on disk instead of the hub.

`--data-dir DIR` holds `test/<subject>_test.csv` (rows `question,A,B,C,D,answer`, no
header) and optionally `dev/<subject>_dev.csv` (few-shot examples) and `val/<subject>_val.csv`.
Each CSV becomes a split in `cais/mmlu`'s schema (question, subject, choices, answer 0-3)
and is handed to the unchanged task definition through lm-eval's `custom_dataset` hook,
so prompts, few-shot sampling and metrics are lm-eval's own. Groups (`mmlu`,
`mmlu_humanities`, ...) are rewritten as group configs whose leaves read local data.
"""

from __future__ import annotations

import csv
import os
from functools import partial
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError

HUB_DATASET = "cais/mmlu"
SERVED_DATASETS = (HUB_DATASET,)  # what --data-dir stands in for
SPLIT_FOLDERS = {"test": "test", "validation": "val", "dev": "dev"}  # cais/mmlu split -> official folder
LETTERS = "ABCD"
COLUMNS = "question,A,B,C,D,answer"


def go_offline() -> None:
    """Stop `datasets`/`huggingface_hub` from reaching for the network (local data needs none)."""
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    import datasets

    datasets.config.HF_DATASETS_OFFLINE = True
    datasets.config.HF_HUB_OFFLINE = True


def csv_path(data_dir: Path, subject: str, split: str = "test") -> Path:
    """Where the official layout keeps `subject`'s `split` (test/dev/validation)."""
    folder = SPLIT_FOLDERS[split]
    return Path(data_dir) / folder / f"{subject}_{folder}.csv"


def read_mmlu_csv(path: Path, subject: str) -> list[dict[str, Any]]:
    """Rows of one official MMLU CSV in cais/mmlu's schema; bad rows fail naming file and line."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        for row in reader:
            if not row:
                continue
            if len(row) != 6:
                raise WorkshopError(
                    f"{path}:{reader.line_num}: expected 6 columns ({COLUMNS}), got {len(row)}; fix the row"
                )
            answer = row[5].strip().upper()
            if answer not in LETTERS:
                raise WorkshopError(f"{path}:{reader.line_num}: answer column is {row[5]!r}; use one of A, B, C, D")
            rows.append({"question": row[0], "subject": subject, "choices": row[1:5], "answer": LETTERS.index(answer)})
    if not rows:
        raise WorkshopError(f"{path}: file is empty; expected rows of {COLUMNS} (no header)")
    return rows


def mmlu_features() -> Any:
    """The `datasets` features of cais/mmlu (answer is a ClassLabel A-D)."""
    import datasets

    return datasets.Features(
        {
            "question": datasets.Value("string"),
            "subject": datasets.Value("string"),
            "choices": datasets.Sequence(datasets.Value("string")),
            "answer": datasets.ClassLabel(names=list(LETTERS)),
        }
    )


def load_local_mmlu(data_dir: str | Path, subject: str, **_task_metadata: Any) -> Any:
    """A `datasets.DatasetDict` of `subject`'s local splits (lm-eval passes task metadata, unused)."""
    import datasets

    splits = {}
    for split in SPLIT_FOLDERS:
        path = csv_path(Path(data_dir), subject, split)
        if path.is_file():
            splits[split] = datasets.Dataset.from_list(read_mmlu_csv(path, subject), features=mmlu_features())
    if "test" not in splits:
        raise WorkshopError(
            f"{csv_path(Path(data_dir), subject)}: not found; --data-dir needs the official layout test/<subject>_test.csv"
        )
    return datasets.DatasetDict(splits)


def leaf_config(task_manager: Any, name: str, data_dir: Path, num_fewshot: int) -> dict[str, Any]:
    """Overrides that make task `name` (a cais/mmlu task) read `data_dir` instead of the hub."""
    config = task_manager._get_config(name)
    if config.get("dataset_path") != HUB_DATASET or "dataset_name" not in config:
        raise WorkshopError(
            f"task {name!r} reads {config.get('dataset_path') or 'a Python-defined dataset'}, not {HUB_DATASET}; "
            "--data-dir serves MMLU tasks only (drop --data-dir to load other tasks from the hub)"
        )
    subject = config["dataset_name"]
    if not csv_path(data_dir, subject).is_file():
        raise WorkshopError(
            f"{csv_path(data_dir, subject)}: not found; --data-dir needs the official layout test/<subject>_test.csv"
        )
    for split in SPLIT_FOLDERS:  # check every CSV now, before a model is loaded (or converted)
        if csv_path(data_dir, subject, split).is_file():
            read_mmlu_csv(csv_path(data_dir, subject, split), subject)
    override: dict[str, Any] = {"task": name, "custom_dataset": partial(load_local_mmlu, str(data_dir), subject)}
    fewshot_split = config.get("fewshot_split")
    if fewshot_split and not csv_path(data_dir, subject, fewshot_split).is_file():
        if num_fewshot > 0:
            raise WorkshopError(
                f"{csv_path(data_dir, subject, fewshot_split)}: not found; --num-fewshot {num_fewshot} needs the "
                "dev split (official layout dev/<subject>_dev.csv), or use --num-fewshot 0"
            )
        override["fewshot_split"] = None
    return override


def local_config(task_manager: Any, name: str, data_dir: Path, num_fewshot: int) -> list[dict[str, Any]]:
    """Task or group `name` as lm-eval config dicts whose leaf tasks read `data_dir` (a tag -> its tasks)."""
    if task_manager._name_is_task(name):
        return [leaf_config(task_manager, name, data_dir, num_fewshot)]
    if task_manager._name_is_tag(name):
        return [c for child in task_manager._get_tasklist(name) for c in local_config(task_manager, child, data_dir, num_fewshot)]
    if task_manager._name_is_group(name):
        group = task_manager._get_config(name)
        children: list[dict[str, Any]] = []
        for child in group["task"]:
            if isinstance(child, str):
                children += local_config(task_manager, child, data_dir, num_fewshot)
            else:  # an inline task config: keep its overrides, add the local data source
                children += [{**leaf_config(task_manager, child["task"], data_dir, num_fewshot), **child}]
        return [{**group, "task": children}]
    raise WorkshopError(f"task {name!r} is a Python-defined task; --data-dir serves the YAML MMLU tasks only")


def local_task_configs(task_manager: Any, names: list[str], data_dir: str | Path, num_fewshot: int) -> list[dict]:
    """Config dicts for `lm_eval.simple_evaluate(tasks=...)` that read MMLU CSVs from `data_dir`."""
    data_dir = Path(data_dir)
    if not (data_dir / "test").is_dir():
        raise WorkshopError(f"{data_dir}/test: not found; --data-dir needs the official MMLU layout test/<subject>_test.csv")
    go_offline()
    return [c for name in names for c in local_config(task_manager, name, data_dir, num_fewshot)]
