"""The access log: every department read, appended, chained, never rewritten.

One JSON line per read in `data/audit/access.jsonl`: who, department, tables, fields, row
count, filter, purpose, time, and the opaque ids of the residents read (so a resident can
be told who looked at them, without the log holding ID numbers). Each line carries the
hash of the line before it: an edited or deleted entry breaks the chain, and `hub audit
--verify` says where. The query path only ever calls `record`; the SQL it runs cannot
reach files at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


@dataclass
class Access:
    channel: str  # "cli" or "api"
    user: str
    department: str
    tables: list[str]
    fields: list[str]
    rows: int
    filter: str  # the SQL, or the API's filters
    purpose: str
    status: str = "ok"  # "ok" or "refused"
    reason: str = ""
    persons: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))


def log_path(folder: Path) -> Path:
    return folder / "access.jsonl"


def record(folder: Path, access: Access) -> dict[str, Any]:
    """Append one entry (under an exclusive lock, fsynced) and return it with its chain."""
    folder.mkdir(parents=True, exist_ok=True)
    path = log_path(folder)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the server's threads and a CLI query may write at once
        seq, prev = _tail(path)
        entry = {"seq": seq + 1, **asdict(access), "prev": prev}
        entry["hash"] = _hash(entry)
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
        return entry
    finally:
        os.close(fd)  # closing releases the lock


def entries(folder: Path) -> Iterator[dict[str, Any]]:
    path = log_path(folder)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def verify(folder: Path) -> tuple[int, str | None]:
    """(entries checked, the first problem found or None)."""
    prev, n = GENESIS, 0
    for n, e in enumerate(entries(folder), start=1):
        if e.get("seq") != n:
            return n, f"第 {n} 条的序号为 {e.get('seq')}：有记录被删除或插入"
        if e.get("prev") != prev:
            return n, f"第 {n} 条与上一条不衔接：之前的记录被修改或删除"
        if _hash({k: v for k, v in e.items() if k != "hash"}) != e.get("hash"):
            return n, f"第 {n} 条的内容被修改过"
        prev = e["hash"]
    return n, None


def _tail(path: Path) -> tuple[int, str]:
    """Sequence number and hash of the last entry, reading backwards from the end."""
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        buf, pos = b"", end
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf
            lines = buf.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or pos == 0:
                last = lines[-1]
                if last.strip():
                    e = json.loads(last)
                    return int(e["seq"]), str(e["hash"])
                break
    return 0, GENESIS


def _hash(entry: dict[str, Any]) -> str:
    body = json.dumps(
        {k: v for k, v in entry.items() if k != "hash"}, ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def answered_by_department(folder: Path, period_key: str) -> dict[str, int]:
    """Data requests answered from shared data in a month (YYYY-MM), per department: each
    one a form that did not have to go down to the communities."""
    out: dict[str, int] = {}
    for e in entries(folder):
        if e.get("channel") == "web":  # staff working their own community answer no request
            continue
        if e["status"] == "ok" and str(e["at"]).startswith(period_key):
            out[e["department"]] = out.get(e["department"], 0) + 1
    return out
