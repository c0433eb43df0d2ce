"""The access log: every read (department, API, staff), appended, chained, never rewritten.

One JSON line per read in `data/audit/access.jsonl`: who, department, tables, fields, row
count, filter, purpose, time, and the opaque ids of the residents read (so a resident can be
told who looked at them, without the log holding ID numbers).

Threat model: someone who can edit or delete files under `data/audit/` but does not hold the
installation's secret. Each line carries a keyed MAC (HMAC-SHA256 under a key derived from
the secret) over itself and the MAC of the line before it, so an edited, inserted or deleted
line breaks the chain and a chain cannot be recomputed without the secret. The chain's head
(sequence and MAC) is also kept apart — in `data/audit_head.json` and in every published
release's manifest — so truncating, emptying or deleting the log is detected too. A line torn
by a crash is set aside (`access.torn-*.txt`), reported, and never stops a query.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.atomic import write_json
from hub.jsonl import append_line, read_lines
from hub.settings import Settings

GENESIS = "0" * 64
_FIELDS = {"seq", "department", "status", "at", "persons", "channel"}
MAX_TEXT = 20_000  # what one entry keeps of a filter or purpose: requests are bounded too


@dataclass
class Access:
    channel: str  # "cli", "api" or "web"
    user: str
    department: str
    tables: list[str]
    fields: list[str]
    rows: int
    filter: str  # the SQL, or the API's filters
    purpose: str
    status: str = "ok"  # "ok", "refused" or "error"
    reason: str = ""
    persons: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))


def log_path(folder: Path) -> Path:
    return folder / "access.jsonl"


def head_path(settings: Settings) -> Path:
    """Kept outside `data/audit/`, where the threat model's attacker writes."""
    return settings.data / "audit_head.json"


def _key(secret: str) -> bytes:
    return hashlib.sha256(f"access-log|{secret}".encode()).digest()


def _mac(key: bytes, entry: dict[str, Any]) -> str:
    body = json.dumps(
        {k: v for k, v in entry.items() if k not in ("mac", "hash")},
        ensure_ascii=False,
        sort_keys=True,
    )
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def record(settings: Settings, access: Access) -> dict[str, Any]:
    """Append one entry (under an exclusive lock, fsynced), then move the head forward."""
    folder = settings.audit
    folder.mkdir(parents=True, exist_ok=True)
    path = log_path(folder)
    access.filter, access.purpose = access.filter[:MAX_TEXT], access.purpose[:MAX_TEXT]
    access.fields = access.fields[:500]
    key = _key(settings.secret())
    with _locked(path, fcntl.LOCK_EX) as fd:  # the server's threads and CLI queries at once
        seq, prev = _tail(path)
        known = head(settings)
        if known and int(known["seq"]) > seq:  # cut short since: the head must not forget it
            alarm = {"at": access.at, "head": known["seq"], "log": seq}
            append_line(alarms_path(settings), alarm)
        entry = {"seq": seq + 1, **asdict(access), "prev": prev}
        entry["mac"] = _mac(key, entry)
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
        write_json(head_path(settings), {"seq": entry["seq"], "mac": entry["mac"]})
        return entry


@contextmanager
def _locked(path: Path, how: int) -> Iterator[int]:
    """The log open, under a shared or an exclusive advisory lock (closing releases it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, how)
        yield fd
    finally:
        os.close(fd)


def alarms_path(settings: Settings) -> Path:
    return settings.data / "audit_alarms.jsonl"


def head(settings: Settings) -> dict[str, Any] | None:
    """The chain's head as last recorded (for release manifests), or None."""
    path = head_path(settings)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {"seq": int(doc["seq"]), "mac": str(doc["mac"])}
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return {"seq": -1, "mac": "damaged"}  # verify() then reports the head as not matching


def _lines(path: Path) -> tuple[list[str], bool]:
    """The log's complete lines and whether a torn one follows. Every reader splits the
    same way — on "\n" only (str.splitlines() would also split at U+2028, \x1e, ...)."""
    data = path.read_bytes() if path.exists() else b""
    cut = data.rfind(b"\n") + 1
    lines = data[:cut].decode("utf-8", errors="replace").split("\n")[:-1] if cut else []
    return lines, cut < len(data)


def entries(folder: Path) -> Iterator[dict[str, Any]]:
    """Every complete entry; a torn last line is skipped (record sets it aside), and a line
    that is no entry at all too (verify() reports it)."""
    for line in _lines(log_path(folder))[0]:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and e.keys() >= _FIELDS:
            yield e


def verify(settings: Settings) -> tuple[int, str | None]:
    """(entries checked, the first problem found or None). The log must still hold the head
    recorded beside it and the head recorded in every published release."""
    path, key = log_path(settings.audit), _key(settings.secret())
    if path.exists():
        with _locked(path, fcntl.LOCK_SH):  # the log and its head as one writer left them
            lines, _ = _lines(path)
            known = head(settings)
    else:
        lines, known = [], head(settings)
    prev, n, macs = GENESIS, 0, {}
    keyed = False
    for n, line in enumerate(lines, start=1):
        try:
            e = json.loads(line)
        except ValueError:
            e = None
        if not isinstance(e, dict) or not e.keys() >= _FIELDS:
            return n, f"第 {n} 条不是完整的记录：日志被改动"
        if keyed and "mac" not in e:  # unkeyed entries may only precede the keyed chain
            return n, f"第 {n} 条没有校验码：日志被改动"
        keyed = keyed or "mac" in e
        if e.get("seq") != n:
            return n, f"第 {n} 条的序号为 {e.get('seq')}：有记录被删除或插入"
        if e.get("prev") != prev:
            return n, f"第 {n} 条与上一条不衔接：之前的记录被修改或删除"
        expected = e.get("mac") or e.get("hash")
        actual = _mac(key, e) if "mac" in e else _legacy_hash(e)
        if not hmac.compare_digest(str(expected), actual):
            return n, f"第 {n} 条的内容被修改过（或校验码被伪造）"
        prev = str(expected)
        macs[n] = prev
    for alarm in read_lines(alarms_path(settings)):
        return n, (
            f"访问日志曾被截断或清空：记录到第 {alarm.get('head')} 条时只剩 {alarm.get('log')} 条"
            f"（发现于 {alarm.get('at')}）"
        )
    heads = [h for h in [known, *_published_heads(settings)] if h]
    for h in heads:
        if macs.get(int(h["seq"])) != h["mac"]:
            have = f"日志只剩 {n} 条" if n < int(h["seq"]) else "该条已不是当初的记录"
            return n, f"访问日志被截断、清空或替换：已记录到第 {h['seq']} 条，{have}"
    return n, None


def torn(settings: Settings) -> int:
    """Lines a crash left unfinished (set aside, or still at the end): not tampering — the
    read they record never returned its rows — but worth saying."""
    path = log_path(settings.audit)
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 1))
        unfinished = fh.read(1) not in (b"", b"\n")
    return len(list(settings.audit.glob("access.torn-*.txt"))) + int(unfinished)


def _published_heads(settings: Settings) -> list[dict[str, Any]]:
    releases = settings.published / "releases"
    docs = (json.loads(p.read_text("utf-8")) for p in sorted(releases.glob("*.json")))
    return [d["audit_head"] for d in docs if d.get("audit_head")]


def _legacy_hash(entry: dict[str, Any]) -> str:
    """Entries from before the keyed chain: a plain SHA-256 (still checked, never written)."""
    body = json.dumps(
        {k: v for k, v in entry.items() if k != "hash"}, ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _tail(path: Path) -> tuple[int, str]:
    """Sequence number and MAC of the last entry, read from the end of the file (the log
    only grows); a torn last line is set aside first."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        chunk, block = b"", 1 << 16
        while True:
            start = max(0, size - len(chunk) - block)
            fh.seek(start)
            chunk = fh.read(size - start)
            body = chunk[: chunk.rfind(b"\n") + 1]
            if start == 0 or body[:-1].rfind(b"\n") >= 0:
                break
    if not chunk.endswith(b"\n") and chunk:
        torn = chunk[len(body) :]
        stamp = datetime.now().strftime("%Y%m%d%H%M%S%f")
        (path.parent / f"access.torn-{stamp}.txt").write_bytes(torn)
        os.truncate(path, size - len(torn))
    for line in reversed(body.split(b"\n")):
        if line.strip():
            try:
                e = json.loads(line)
                return int(e["seq"]), str(e.get("mac") or e.get("hash"))
            except (ValueError, KeyError, TypeError, AttributeError):
                # no entry (the log was edited): chain on after it, verify() reports it
                return _count_lines(path), GENESIS
    return 0, GENESIS


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


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
