"""One pipeline run at a time per warehouse: DuckDB allows one writing process, and two runs
would interleave their batches. A second `hub run` is told so in Chinese instead of dying on
the database's lock."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path


class RunInProgress(RuntimeError):
    """Another run holds the warehouse."""


@contextmanager
def run_lock(data: Path) -> Iterator[None]:
    """Hold the run lock of the installation at `data` (released when the process ends, even
    if killed: an advisory lock on an open file)."""
    data.mkdir(parents=True, exist_ok=True)
    path = data / ".run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(f"已有一次归集在运行{_holder(path)}，请等它结束后再运行") from None
        os.ftruncate(fd, 0)
        started = datetime.now().isoformat(timespec="seconds")
        os.write(fd, json.dumps({"pid": os.getpid(), "started": started}).encode())
        yield
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        doc = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return ""
    return f"（进程 {doc.get('pid')}，开始于 {doc.get('started')}）" if doc else ""
