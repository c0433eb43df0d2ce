"""Requests between units that someone else must decide: one general model, one store.

A request has a kind (迁入申请 move_in, 报表准入申请 report_proposal, 更正申请 correction to
the department that owns a value), who asks (`from_unit`), who decides (`to_unit`), what it is about
(`subject`), a payload, and a status with who decided, when and why. The store is append-only
(`data/requests/requests.jsonl`): a request line, then at most one decision line.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.jsonl import append_line, read_lines

KINDS = {"move_in": "迁入申请", "report_proposal": "报表准入申请", "correction": "更正申请"}
STATUS = {"open": "待处理", "accepted": "已同意", "declined": "已拒绝", "shared": "改为共享"}
# what may answer a request of each kind, besides accepting or declining it
_MORE = {"report_proposal": ("shared",)}


@dataclass
class Request:
    kind: str
    from_unit: str
    to_unit: str
    subject: str
    payload: dict[str, Any]
    by: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%dT%H:%M:%S"))
    status: str = "open"
    decided_by: str | None = None
    decided_at: str | None = None
    why: str | None = None


def _path(folder: Path) -> Path:
    return folder / "requests.jsonl"


def file_request(folder: Path, req: Request) -> Request:
    if req.kind not in KINDS:
        raise ValueError(f"未知的申请类型 {req.kind!r}（允许：{', '.join(KINDS)}）")
    append_line(_path(folder), {"event": "request", **asdict(req)})
    return req


def requests(folder: Path) -> list[Request]:
    """Every request with its decision applied, oldest first."""
    out: dict[str, Request] = {}
    for line in read_lines(_path(folder)):
        event = line.pop("event", None)
        if event == "request":
            out[line["id"]] = Request(**line)
        elif event == "decision" and line.get("id") in out and out[line["id"]].status == "open":
            r = out[line["id"]]
            r.status, r.decided_by, r.decided_at, r.why = (
                line["status"],
                line["by"],
                line["at"],
                line.get("why"),
            )
    return list(out.values())


def decide(
    folder: Path, request_id: str, status: str, by: str, why: str = "", unit: str | None = None
) -> Request:
    """Decide an open request; `unit`, when given, must be the one it is addressed to."""
    found = [r for r in requests(folder) if r.id == request_id]
    if not found or (unit is not None and found[0].to_unit != unit):
        raise LookupError("没有这条申请（或不是发给本单位的）")
    allowed = ("accepted", "declined", *_MORE.get(found[0].kind, ()))
    if status not in allowed:
        raise ValueError(f"未知的决定 {status!r}（允许：{'、'.join(allowed)}）")
    if found[0].status != "open":
        raise LookupError(f"这条申请已处理（{STATUS[found[0].status]}）")
    at = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    append_line(
        _path(folder),
        {"event": "decision", "id": request_id, "status": status, "by": by, "at": at, "why": why},
    )
    r = found[0]
    r.status, r.decided_by, r.decided_at, r.why = status, by, at, why
    return r
