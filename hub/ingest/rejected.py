"""Files that cannot be taken in are set aside with their reason, not retried at every run."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

REJECTED = "rejected"


def set_aside(path: Path, reason: str) -> Path:
    """Move `path` into `rejected/` beside it, with `<name>.reason.txt` saying why.

    Nothing is lost: the file is kept as it came; a corrected file sent again loads.
    """
    folder = path.parent / REJECTED
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    target = folder / f"{stamp}_{path.name}"
    os.replace(path, target)
    note = target.with_name(target.name + ".reason.txt")
    note.write_text(f"{path.name}\n{reason}\n", encoding="utf-8")
    return target
