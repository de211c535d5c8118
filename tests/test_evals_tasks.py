"""lm-eval's MMLU tasks fed from local CSVs build exactly the requests of lm-eval's own `mmlu_<subject>`."""

import csv
import shutil

import datasets
import lm_eval.api.task
import pytest
from lm_eval.api.group import ConfigurableGroup
from lm_eval.tasks import TaskManager, get_task_dict

from workshop.core.errors import WorkshopError
from workshop.evals.local_tasks import local_task_configs
from workshop.evals.task_index import list_tasks, resolve_names, task_index, task_manager

CAIS_MMLU = datasets.Features(
    {
        "question": datasets.Value("string"),
        "subject": datasets.Value("string"),
        "choices": datasets.Sequence(datasets.Value("string")),
        "answer": datasets.ClassLabel(names=["A", "B", "C", "D"]),
    }
)


def cais_split(path, subject):
    """The rows of an official CSV in cais/mmlu's schema, built here independently of workshop's reader."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return datasets.Dataset.from_dict(
        {
            "question": [r[0] for r in rows],
            "subject": [subject] * len(rows),
            "choices": [r[1:5] for r in rows],
            "answer": ["ABCD".index(r[5]) for r in rows],
        },
        features=CAIS_MMLU,
    )


@pytest.fixture(scope="module")
def lm_eval_manager():
    """lm-eval's own TaskManager, indexing its YAML files as `lm_eval --tasks` does."""
    return TaskManager()


def reference_task(manager, monkeypatch, name, splits):
    """lm-eval's own `name`, loaded by TaskManager as `--tasks name` does; only the hub download is replaced."""

    def load_dataset(path, name=None, **kwargs):
        assert path == "cais/mmlu"
        return datasets.DatasetDict({split: data for split, data in splits.items()})

    monkeypatch.setattr(lm_eval.api.task.datasets, "load_dataset", load_dataset)
    task = manager.load_task_or_group([name])[name]
    monkeypatch.undo()
    return task


def requests_of(task, num_fewshot, limit=None):
    task.set_config(key="num_fewshot", value=num_fewshot)
    task.set_fewshot_seed(seed=1234)
    task.build_all_requests(limit=limit, rank=0, world_size=1)
    return [(i.doc_id, i.idx, i.request_type, i.args) for i in task.instances]


def local_task(name, data_dir, num_fewshot):
    manager = task_manager()
    return get_task_dict(local_task_configs(manager, [name], data_dir, num_fewshot), manager)[name]


def test_zero_shot_requests_identical_to_lm_eval(lm_eval_manager, monkeypatch, mmlu_dir):
    test = cais_split(mmlu_dir / "test" / "philosophy_test.csv", "philosophy")
    # the hub's cais/mmlu always has a dev split; the local folder here has none, which 0-shot must not notice
    reference = reference_task(lm_eval_manager, monkeypatch, "mmlu_philosophy", {"test": test, "dev": test.select(range(5))})
    ours = local_task("mmlu_philosophy", mmlu_dir, 0)
    expected = requests_of(reference, 0)
    assert len(expected) == 311 * 4
    assert requests_of(ours, 0) == expected
    assert expected[0][3][0].startswith("The following are multiple choice questions (with answers) about philosophy.")
    assert [r[3][1] for r in expected[:4]] == [" A", " B", " C", " D"]


def test_few_shot_requests_identical_to_lm_eval(lm_eval_manager, monkeypatch, tmp_path):
    rows = [[f"Question {i}?", f"a{i}", f"b{i}", f"c{i}", f"d{i}", "ABCD"[i % 4]] for i in range(12)]
    for folder, part in (("test", rows[:8]), ("dev", rows[8:])):
        (tmp_path / folder).mkdir()
        with open(tmp_path / folder / f"anatomy_{folder}.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(part)
    splits = {s: cais_split(tmp_path / s / f"anatomy_{s}.csv", "anatomy") for s in ("test", "dev")}
    reference = reference_task(lm_eval_manager, monkeypatch, "mmlu_anatomy", splits)
    expected = requests_of(reference, 3)
    assert "Question 8?\nA. a8" in expected[0][3][0]  # the dev examples are in the prompt
    assert requests_of(local_task("mmlu_anatomy", tmp_path, 3), 3) == expected


def test_groups_expand_to_local_subtasks(mmlu_dir):
    manager = task_manager()
    tasks = get_task_dict(local_task_configs(manager, ["mmlu_humanities"], mmlu_dir, 0), manager)
    (group, subtasks), = tasks.items()
    assert isinstance(group, ConfigurableGroup) and group.group_name == "mmlu_humanities"
    assert len(subtasks) == 13 and "mmlu_philosophy" in subtasks
    assert len(subtasks["mmlu_world_religions"].test_docs()) == 171


def test_local_data_errors(tmp_path, mmlu_dir):
    manager = task_manager()
    with pytest.raises(WorkshopError, match=r"dev/philosophy_dev.csv: not found; --num-fewshot 5 needs the dev split"):
        local_task_configs(manager, ["mmlu_philosophy"], mmlu_dir, 5)
    (tmp_path / "test").mkdir()
    with pytest.raises(WorkshopError, match=r"test/philosophy_test.csv: not found"):
        local_task_configs(manager, ["mmlu_philosophy"], tmp_path, 0)
    with pytest.raises(WorkshopError, match="--data-dir serves MMLU tasks only"):
        local_task_configs(manager, ["hellaswag"], mmlu_dir, 0)


def test_task_names_and_listing(lm_eval_manager, monkeypatch, tmp_path):
    assert resolve_names(["mmlu_philosophy", "mmlu_high_school_*"])[:2] == ["mmlu_philosophy", "mmlu_high_school_biology"]
    with pytest.raises(WorkshopError, match="unknown task 'mmlu_philosophi'; did you mean mmlu_philosophy"):
        resolve_names(["mmlu_philosophi"])
    monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path))
    built = task_index()  # lm-eval's own TaskManager index, written to the cache
    assert built == lm_eval_manager.task_index
    assert built["mmlu_philosophy"]["yaml_path"].endswith("mmlu/default/mmlu_philosophy.yaml")
    assert built["mmlu_humanities_tasks"]["type"] == "tag" and "mmlu_philosophy" in built["mmlu_humanities_tasks"]["task"]

    def no_scan(*args, **kwargs):
        raise AssertionError("the cached index must not rescan lm-eval's YAML files")

    monkeypatch.setattr("lm_eval.tasks.TaskManager.initialize_tasks", no_scan)
    assert task_index() == built
    assert ("mmlu_philosophy", "task") in list_tasks("mmlu_phil")
    assert ("mmlu", "group") in list_tasks("mmlu")
    assert [n for n, _ in list_tasks("mmlu_")] == sorted(n for n in task_index() if n.startswith("mmlu_"))
    assert list_tasks("philosophy") == [] and ("mmlu_philosophy", "task") in list_tasks("*philosophy")  # prefix, or a glob


def test_listing_marks_what_data_dir_serves(lm_eval_manager, capsys, mmlu_dir, tmp_path, monkeypatch):
    from workshop.cli.main import main

    monkeypatch.setenv("WORKSHOP_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["eval", "list", "mmlu_"]) == 0
    rows = {line.split()[-1]: line.split()[1] == "offline" for line in capsys.readouterr().out.splitlines()[:-1]}
    # independent reference: lm-eval's own configs, read by its TaskManager
    expected = {n for n in rows if lm_eval_manager.task_index[n]["type"] == "task"
                and lm_eval_manager._get_config(n).get("dataset_path") == "cais/mmlu"}
    assert {n for n, offline in rows.items() if offline and lm_eval_manager.task_index[n]["type"] == "task"} == expected
    assert len(expected) == 57 and rows["mmlu_humanities"] and not rows["mmlu_pro_philosophy"]
    assert not rows["mmlu_philosophy_generative"]  # another hub dataset: served only online
    (tmp_path / "some" / "test").mkdir(parents=True)
    shutil.copy(mmlu_dir / "test" / "philosophy_test.csv", tmp_path / "some" / "test")
    assert main(["eval", "list", "mmlu_ph", "--data-dir", str(tmp_path / "some")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines[:-1] if " offline " in line] == ["mmlu_philosophy"]
