"""A dataset version folder: written under a temporary name, then moved into place whole."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@contextmanager
def new_version(folder: Path) -> Iterator[Path]:
    """A `.tmp-` folder under `folder` to write a version into; removed if writing fails (a
    killed process leaves it to `hub.publish.snapshot.sweep`)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def seal(tmp: Path, folder: Path, manifest: dict[str, Any]) -> str:
    """Write the manifest and move the finished version into place; returns its name."""
    (tmp / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{manifest['fingerprint'][:12]}"
    os.replace(tmp, folder / version)
    return version


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a version folder ({} if it has none)."""
    path = folder / "manifest.json"
    if not path.exists():
        return {}
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc
