"""Which reports are used: every generation and every download logged (an append-only file,
`data/reports/usage.jsonl`), so the catalogue can flag reports nobody generates or fetches."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from hub.jsonl import append_line, read_lines

Event = Literal["generated", "downloaded"]


def _path(reports: Path) -> Path:
    return reports / "usage.jsonl"


def log_use(reports: Path, event: Event, report: str, period: str, by: str) -> None:
    at = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    append_line(
        _path(reports), {"event": event, "report": report, "period": period, "by": by, "at": at}
    )


def uses(reports: Path) -> list[dict[str, Any]]:
    return [u for u in read_lines(_path(reports)) if u.get("event") in ("generated", "downloaded")]


def last_uses(reports: Path) -> dict[tuple[str, str], str]:
    """(report, event) -> when it last happened (ISO time)."""
    out: dict[tuple[str, str], str] = {}
    for u in uses(reports):
        key = (str(u.get("report")), str(u["event"]))
        out[key] = max(out.get(key, ""), str(u.get("at", "")))
    return out
