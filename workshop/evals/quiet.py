"""Without lm-eval's git noise: `simple_evaluate` runs `git describe` to record a commit hash, and outside
a git repository git prints `fatal: not a git repository ...` to the terminal, which reads like an error.

The child inherits file descriptor 2, so the line can only be dropped there: `without_git_noise`
points fd 2 at a pipe for the duration, and a thread copies everything else (progress bars
included, as they come) to the real stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

GIT_NOISE = b"fatal: not a git repository"


def copy_without(read_fd: int, write_fd: int, prefix: bytes) -> None:
    """Copy `read_fd` to `write_fd` until EOF, leaving out whole lines that start with `prefix`."""
    pending = b""
    while chunk := os.read(read_fd, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        out = b"".join(line + b"\n" for line in lines if not line.startswith(prefix))
        if pending and not (prefix.startswith(pending) or pending.startswith(prefix)):
            out, pending = out + pending, b""  # a partial line (a progress bar's \r update): show it now
        if out:
            os.write(write_fd, out)
    if pending and not pending.startswith(prefix):
        os.write(write_fd, pending)


@contextlib.contextmanager
def without_git_noise() -> Iterator[None]:
    """Run the body with git's "not a git repository" line dropped from this process's (and its children's) stderr."""
    try:
        sys.stderr.flush()
        real = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (an embedding host): nothing to filter
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=copy_without, args=(read_fd, real, GIT_NOISE), name="stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)  # the pipe's last writer here closes; the thread sees EOF once children let go too
        pump.join(timeout=5)
        os.close(real)
        if not pump.is_alive():
            os.close(read_fd)
