"""README.md's Python stays true: its ```python blocks run, and every Python name it mentions resolves."""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.models.checkpoints import SMOLLM2_REPO, default_checkpoint_dir

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")
IMPORT = re.compile(r"^from (workshop(?:\.\w+)*) import (\w+(?:, \w+)*)$")
DOTTED = re.compile(r"^(\w+(?:\.\w+)+)(?:\(.*\))?$")  # a dotted name, optionally called: `a.b.c(...)`
ABSOLUTE = re.compile(r"(?<![\w./])workshop(?:\.\w+)+")  # `workshop.x.y` anywhere in a span (not a path)
FILE_SUFFIXES = {"pth", "json", "jsonl", "md", "yaml", "txt", "png", "html", "py", "csv", "tsv", "gguf", "log"}
SOURCE_PATH = re.compile(r"(?<![\w/.-])[\w/]+\.py\b")  # a Python file: `workshop/core/paths.py`, `cli/main.py`


def python_blocks(text: str) -> list[str]:
    """The body of every ```python block, in order."""
    return [body for lang, body in FENCE.findall(text) if lang == "python"]


def inline_spans(text: str) -> list[tuple[int, int, str]]:
    """(line number, paragraph number, span) for every inline code span outside fenced blocks."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # keep line numbers
    spans, paragraph = [], 0
    for number, line in enumerate(text.splitlines(), start=1):
        paragraph += not line.strip()
        spans += [(number, paragraph, span) for span in SPAN.findall(line)]
    return spans


def resolve(dotted: str) -> object:
    """The object `dotted` names: its longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if not (name == e.name or name.startswith(f"{e.name}.")):
                raise  # a module that exists failed to import: a real error, not a missing name
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def mentioned_names(text: str) -> list[tuple[int, str]]:
    """(line, fully qualified name) for each Python name the README's inline code mentions.

    `from workshop.x import a, b` gives workshop.x.a and workshop.x.b; `workshop.x.y` anywhere in a
    span gives itself; a dotted span such as `data.create_dataloader_v1` is read relative to a
    `workshop.` package named earlier in the same paragraph when its first part is in that package.
    Shell commands (`workshop gpt ...`), paths (`workshop/...`), files (`model.pth`) and options are not Python.
    """
    names, bases = [], {}
    for line, paragraph, span in inline_spans(text):
        bases = {k: v for k, v in bases.items() if v == paragraph}
        if match := IMPORT.match(span):
            names += [(line, f"{match[1]}.{name}") for name in match[2].split(", ")]
            continue
        absolute = ABSOLUTE.findall(span)
        names += [(line, name) for name in absolute]
        for name in absolute:
            parts = name.split(".")
            bases.update({".".join(parts[:i]): paragraph for i in range(2, len(parts) + 1)})
        if not absolute and (match := DOTTED.match(span)) and match[1].rsplit(".", 1)[1] not in FILE_SUFFIXES:
            first = match[1].split(".")[0]
            base = next((b for b in bases if b.count(".") and has_name(b, first)), None)
            if base:
                names.append((line, f"{base}.{match[1]}"))
    return names


def has_name(package: str, name: str) -> bool:
    """Whether `package.name` exists (a submodule or an attribute), without failing on non-packages."""
    try:
        resolve(f"{package}.{name}")
    except (ImportError, AttributeError):
        return False
    return True


def block_imports(text: str) -> list[tuple[int, str]]:
    """(line, fully qualified name) for each `workshop` import in the ```python blocks (checked without running)."""
    names = []
    for match in FENCE.finditer(text):
        if match[1] != "python":
            continue
        first = text.count("\n", 0, match.start(2)) + 1
        for node in ast.walk(ast.parse(match[2])):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "workshop":
                names += [(first + node.lineno - 1, f"{node.module}.{alias.name}") for alias in node.names]
            elif isinstance(node, ast.Import):
                names += [(first + node.lineno - 1, a.name) for a in node.names if a.name.split(".")[0] == "workshop"]
    return names


def test_mentioned_names_finds_imports_absolute_and_relative_names():
    text = ("A `from workshop.judge import score, agreement` and `workshop.gpt.model.GPTModel(GPT_CONFIG_124M)`,\n"
            "`data.create_dataloader_v1`, `model.pth`, `workshop gpt pretrain`, `workshop/gpt/data.py`, `--x.y`.\n"
            "\n`data.create_dataloader_v1` in a new paragraph has no base.\n"
            "```python\nimport workshop.not_checked\n```\n`workshop.load(DIR).generate(\"...\")`\n")
    assert mentioned_names(text) == [(1, "workshop.judge.score"), (1, "workshop.judge.agreement"),
                                     (1, "workshop.gpt.model.GPTModel"), (2, "workshop.gpt.data.create_dataloader_v1"),
                                     (8, "workshop.load")]
    assert block_imports(text) == [(6, "workshop.not_checked")]


def test_resolve_follows_modules_then_attributes_and_fails_on_a_moved_name():
    from workshop.datasets.labels import LabelWords

    assert resolve("workshop.datasets.labels.LabelWords") is LabelWords
    with pytest.raises(AttributeError):
        resolve("workshop.finetune.labels.LabelWords")  # where it lived before the datasets/ layer
    with pytest.raises(AttributeError):
        resolve("workshop.instructions.format_input")


def test_every_python_name_in_the_readme_resolves():
    text = README.read_text(encoding="utf-8")
    names = mentioned_names(text) + block_imports(text)
    assert len(names) > 20  # the README names the API throughout; a parser that finds nothing is broken
    broken = []
    for line, name in names:
        try:
            resolve(name)
        except (ImportError, AttributeError) as e:
            broken.append(f"README.md:{line}: {name} ({type(e).__name__}: {e})")
    assert not broken, "README names that no longer exist:\n" + "\n".join(broken)


def test_every_source_file_the_readme_names_exists():
    """A .py path is the repository's (`bench/gpu.py`), the package's (`cli/main.py`) or LitGPT's."""
    import litgpt

    roots = (README.parent, README.parent / "workshop", Path(litgpt.__file__).parent)
    text = README.read_text(encoding="utf-8")
    named = [(line, path) for line, _, span in inline_spans(text) for path in SOURCE_PATH.findall(span)]
    assert len(named) > 10
    missing = [f"README.md:{line}: {path}" for line, path in named if not any((r / path).is_file() for r in roots)]
    assert not missing, "README names source files that do not exist:\n" + "\n".join(missing)


@pytest.mark.slow
def test_readme_python_blocks_run(smollm2_dir, tmp_path):
    """Every ```python block, in order, in one fresh interpreter, in an empty folder holding only SmolLM2."""
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block"
    link = default_checkpoint_dir(SMOLLM2_REPO, root=tmp_path / "checkpoints")
    link.parent.mkdir(parents=True)
    link.symlink_to(smollm2_dir, target_is_directory=True)  # `workshop.load("smollm2-135m-instruct")` finds it
    script = tmp_path / "readme.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(README.parent), "WORKSHOP_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    lines = run.stdout.splitlines()
    assert "Paris" in lines[0]  # SmolLM2's greedy answer to "What is the capital of France?"
    assert lines[-1] == "torch.Size([2, 16]) True"  # the GPT loader's windows: targets are inputs shifted by one
