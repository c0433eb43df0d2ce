"""Replace a file whole or not at all: written under a temporary name beside it (0600),
fsynced, then renamed over it. A crash leaves the old file, never half of a new one."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, doc: Any, indent: int = 1) -> None:
    write_text(path, json.dumps(doc, ensure_ascii=False, indent=indent, default=str))
