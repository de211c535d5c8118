"""The one home of file helpers: atomic writes, JSON/JSONL reading with errors that name file and line."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from workshop.core.errors import WorkshopError
from workshop.core.paths import user_path


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call `write(tmp)` on a temp file beside `path`, fsync it, then rename it over `path`.

    A crash at any point leaves either the old file or the new one, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write `text` (UTF-8)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically `torch.save` plain tensors and Python data (readable with `weights_only=True`)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """Atomically write `obj` as JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> Path:
    """Atomically write one JSON object per line."""
    return atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise WorkshopError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise WorkshopError(f"{path}: is a directory, expected a file")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a missing, empty or malformed file is a one-line WorkshopError."""
    path = user_path(path)
    _check_file(path)
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise WorkshopError(f"{path}: file is empty; expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise WorkshopError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); fix the file") from None


def numbered_jsonl(path: str | os.PathLike, skip_bad_last_line: bool = False) -> Iterator[tuple[int, Any]]:
    """Yield (line number, object) per non-blank line; a bad line is an error naming its number.

    `skip_bad_last_line` tolerates a truncated final line, as left by a process killed
    mid-write in an append-only progress file.
    """
    path = user_path(path)
    _check_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as e:
            if skip_bad_last_line and i == len(lines):
                return
            raise WorkshopError(f"{path}:{i}: not valid JSON ({e.msg}); fix or remove the line") from None


def iter_jsonl(path: str | os.PathLike, skip_bad_last_line: bool = False) -> Iterator[Any]:
    """Yield one object per non-blank line (see `numbered_jsonl`)."""
    return (obj for _, obj in numbered_jsonl(path, skip_bad_last_line))


def read_jsonl(path: str | os.PathLike) -> list[Any]:
    """Read a whole JSONL file (see `numbered_jsonl`)."""
    return list(iter_jsonl(path))


def read_records(path: str | os.PathLike) -> list[Any]:
    """Read a list of records from `.json` (a list) or `.jsonl` (one per line)."""
    path = user_path(path)
    if path.suffix == ".jsonl":
        rows = read_jsonl(path)
        if not rows:
            raise WorkshopError(f"{path}: file is empty; expected one JSON object per line")
        return rows
    data = read_json(path)
    if not isinstance(data, list):
        raise WorkshopError(f"{path}: expected a JSON list of entries, got {type(data).__name__}")
    if not data:
        raise WorkshopError(f"{path}: the list of entries is empty")
    return data


class AppendLog:
    """Append-only JSONL progress file: each record is flushed and fsynced as one line.

    A process killed with SIGKILL loses at most the line being written, which
    `iter_jsonl(..., skip_bad_last_line=True)` ignores on resume.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._f = open(self.path, "a", encoding="utf-8")

    def _repair_tail(self) -> None:
        """Drop a partial last line (no trailing newline) left by a killed writer."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)

    def records(self) -> list[Any]:
        """All complete records written so far."""
        if not self.path.exists():
            return []
        return list(iter_jsonl(self.path, skip_bad_last_line=True))

    def append(self, record: Any) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "AppendLog":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
