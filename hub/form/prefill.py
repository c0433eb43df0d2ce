"""What a template was prefilled with, kept in the workbook itself and signed.

A very hidden sheet holds the community, when the template was made, and per resident the
text of every prefilled cell; an HMAC over all of it (keyed by the installation's secret)
proves the sheet is the hub's and unchanged. On import, a cell whose text differs from its
prefill is what the worker changed; everything else is not submitted again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.form.consolidated import FormField

PREFILL_SHEET = "预填校验"
_MARK = "一张表模板"
_VERSION = "1"
NOT_A_TEMPLATE = "不是本系统生成的社区一张表模板（缺少预填校验页）：请先下载本社区的模板再填写"
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00$")
# a date typed as text the usual ways (2012/10/1, 2012.10.1, 2012年10月1日): compared as ISO
_TYPED_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class PrefillError(ValueError):
    """The workbook is not a template of this hub, or its prefill sheet was changed."""


@dataclass
class Prefill:
    community: str
    made_at: str
    release: int | None
    fields: list[str]
    rows: list[list[str]] = field(default_factory=list)  # [person_id, text per field]
    locks: list[str] = field(default_factory=list)  # per row, "1" where a cell was locked

    def signature(self, secret: str) -> str:
        body = [_VERSION, self.community, self.made_at, self.release, self.fields, self.rows]
        body.append(self.locks)
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return hmac.new(_key(secret, "prefill"), text.encode("utf-8"), hashlib.sha256).hexdigest()

    def write(self, ws: Any, secret: str) -> None:
        meta = [_MARK, _VERSION, self.community, self.made_at, str(self.release or "")]
        for j, value in enumerate([*meta, self.signature(secret)]):
            ws.write_string(0, j, value)
        for j, name in enumerate(["person_id", *self.fields, "locked"]):
            ws.write_string(1, j, name)
        for i, (row, lock) in enumerate(zip(self.rows, self.locks, strict=True), start=2):
            for j, value in enumerate([*row, lock]):
                if value:
                    ws.write_string(i, j, value)
        ws.very_hidden()

    def by_person(self) -> dict[str, dict[str, str]]:
        return {r[0]: dict(zip(self.fields, r[1:], strict=True)) for r in self.rows}

    def locked_by_person(self) -> dict[str, set[str]]:
        """Per resident, the fields whose cell the template locked."""
        return {
            r[0]: {f for f, flag in zip(self.fields, lock, strict=False) if flag == "1"}
            for r, lock in zip(self.rows, self.locks, strict=True)
        }


def read_prefill(grid: list[list[str | None]], secret: str) -> Prefill:
    """The prefill of a workbook (its rows as text), verified; PrefillError if not genuine."""
    if len(grid) < 2 or not grid[0] or grid[0][0] != _MARK:
        raise PrefillError(NOT_A_TEMPLATE)
    meta = [c or "" for c in grid[0]] + [""] * 6
    fields = [c for c in grid[1][1:] if c and c != "locked"]
    width = len(fields) + 2
    body = [[c or "" for c in r[:width]] + [""] * (width - len(r)) for r in grid[2:] if r and r[0]]
    release = int(meta[4]) if meta[4].isdigit() else None
    prefill = Prefill(
        meta[2], meta[3], release, fields, [r[:-1] for r in body], [r[-1] for r in body]
    )
    if meta[1] != _VERSION or not hmac.compare_digest(prefill.signature(secret), meta[5]):
        raise PrefillError("模板的预填校验页已被改动，或模板不是本系统生成的：请重新下载模板")
    return prefill


def cell_text(f: FormField, value: Any) -> str:
    """A cell's value as comparable text, whether written by the hub or read back from a file:
    dates as YYYY-MM-DD, numbers without trailing zeros, text stripped."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float, Decimal)):
        return _number(str(value))
    text = str(value).strip()
    if f.type == "date" and (m := _MIDNIGHT.match(text)):
        return m.group(1)
    if f.type == "date" and (m := _TYPED_DATE.match(text)):
        return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
    if f.type in ("integer", "decimal"):
        return _number(text)
    return text


def _number(text: str) -> str:
    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:
        return text


def protect_password(secret: str, made_at: str) -> str:
    """The sheet protection's password: not printed anywhere, reproducible by the data team."""
    return hmac.new(_key(secret, "protect"), made_at.encode(), hashlib.sha256).hexdigest()[:16]


def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"form-template|{purpose}|{secret}".encode()).digest()
