"""A batch's reporting period: the day its values were true, for "newest wins".

In order: the date the source's registration gives (`as_of`), the file name (202510,
2025-10, 2025年10月, 2025年第三季度, 2025Q3, 2025年度), the title row (「2025年10月低保台账」), the
latest date in a column the registration names (`period_column`). A month, quarter or year
is dated at its last day. When nothing says, the load day is used and the load says so.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

import duckdb

from hub.warehouse import q

_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_Y = r"(?<!\d)((?:19|20)\d{2})"
# each pattern: (regex, kind); the first that matches wins, most precise first
_PATTERNS = [
    (re.compile(_Y + r"[-_./年]?(0[1-9]|1[0-2])[-_./月]?(0[1-9]|[12]\d|3[01])日?(?!\d)"), "day"),
    (re.compile(_Y + r"\s*年\s*(\d{1,2})\s*月份?"), "month"),
    (re.compile(_Y + r"[-_./]?(0[1-9]|1[0-2])(?!\d)"), "month"),
    (re.compile(_Y + r"[-_./]([1-9])(?!\d)"), "month"),
    (re.compile(_Y + r"\s*年?\s*第?\s*([一二三四1-4])\s*季度?"), "quarter"),
    (re.compile(_Y + r"\s*[-_ ]?[Qq]([1-4])(?!\d)"), "quarter"),
    (re.compile(_Y + r"\s*年\s*(上|下)半年"), "half"),
    (re.compile(_Y + r"\s*年度?(?!\s*\d)"), "year"),
    (re.compile(_Y + r"(?![\d年])"), "year"),  # 残联_花名册_2025.xlsx
]


@dataclass
class Period:
    day: date
    how: str  # "source", "file_name", "title", "column" or "load_day"
    text: str = ""  # what it was read from

    @property
    def note(self) -> str | None:
        """What the load should say about it (nothing when the file name says)."""
        if self.how == "title":
            return f"数据时点取自标题「{self.text}」：{self.day:%Y-%m-%d}"
        if self.how == "column":
            return f"数据时点取自「{self.text}」列的最新日期：{self.day:%Y-%m-%d}"
        if self.how == "load_day":
            return (
                "文件名和标题中没有数据时点（如 202510、2025年10月），按加载日期 "
                f"{self.day:%Y-%m-%d} 计：请在文件名中写明月份，以便“最新优先”取值"
            )
        return None


def find_period(text: str) -> tuple[date, re.Match[str]] | None:
    """The last day of the first period named in `text` and where it is written, or None."""
    for pattern, kind in _PATTERNS:
        for m in pattern.finditer(text):
            day = _last_day(int(m.group(1)), kind, *m.groups()[1:])
            if day is not None:
                return day, m
    return None


def period_in(text: str) -> date | None:
    """The last day of the first period named in `text`, or None.

    Example:
        >>> period_in("民政_低保花名册_2025年第三季度.xlsx")
        datetime.date(2025, 9, 30)
    """
    found = find_period(text)
    return found[0] if found else None


def _last_day(year: int, kind: str, part: str = "", day: str = "") -> date | None:
    if kind == "day":
        try:
            return date(year, int(part), int(day))
        except ValueError:
            return None
    if kind == "month":
        month = int(part)
        return date(year, month, calendar.monthrange(year, month)[1]) if 1 <= month <= 12 else None
    if kind == "quarter":
        month = _QUARTERS[part] * 3
        return date(year, month, calendar.monthrange(year, month)[1])
    if kind == "half":
        return date(year, 6, 30) if part == "上" else date(year, 12, 31)
    return date(year, 12, 31)


def reporting_period(
    file_name: str,
    title: str | None,
    loaded: date,
    as_of: date | None = None,
    column: tuple[duckdb.DuckDBPyConnection, str, str] | None = None,
) -> Period:
    """The period of a batch. `column`: (connection, table, column) to take the latest date
    of, when the registration names one and nothing before it says."""
    if as_of is not None:
        return Period(as_of, "source")
    if day := period_in(file_name):
        return Period(day, "file_name", file_name)
    if title and (day := period_in(title)):
        return Period(day, "title", title)
    if column is not None:
        con, table, name = column
        latest = con.execute(
            f"SELECT max(try_cast(hub_date_of(hub_date_text({q(name)})) AS DATE)) FROM {table}"
        ).fetchall()[0][0]
        if latest is not None and latest <= loaded:
            return Period(latest, "column", name)
    return Period(loaded, "load_day")


def without_period(title: str) -> str:
    """A title as registered: 「青禾区2025年11月低保台账」 → 「青禾区低保台账」."""
    for pattern, _ in _PATTERNS:
        title = pattern.sub("", title)
    return re.sub(r"\s{2,}", " ", title).strip(" _-（）()")
