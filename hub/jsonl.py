"""Append-only JSON-lines stores (form submissions, template conflicts): durable appends, and
reads that skip a line still being written or torn by a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append_line(path: Path, doc: dict[str, Any]) -> None:
    """Write one line durably: a single write with O_APPEND (two writers never interleave),
    fsynced before returning, so what a user saw acknowledged is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete line of `path` that parses (none if the file does not exist)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    # split on "\n" only: str.splitlines() also breaks at U+2028 and others a value may hold
    for line in data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace").split("\n"):
        try:
            doc = json.loads(line)
        except ValueError:
            continue  # torn by a crash before fsync: the user was never told it saved
        if isinstance(doc, dict):
            out.append(doc)
    return out
