"""Find the header in a grid: skip title rows, join two-row merged headers, drop footers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hub.ingest.grid import Grid
from hub.registry.models import HeaderSpec

SCAN_ROWS = 30
_DIGITS = re.compile(r"\d{4,}")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")
FOOTER_WORDS = (
    "合计",
    "总计",
    "小计",
    "填表人",
    "制表人",
    "填报人",
    "审核人",
    "负责人",
    "单位负责人",
    "填表日期",
    "制表日期",
    "填报日期",
    "备注：",
    "说明：",
    "注：",
)
_SPACE = re.compile(r"\s+")


@dataclass
class Layout:
    """Where the table sits in the grid (0-based grid indexes) and what its headers are."""

    headers: list[str]
    header_index: int
    header_rows: int
    data_start: int
    data_end: int  # exclusive
    dropped_footer: list[int] = field(default_factory=list)  # file row numbers
    column_index: list[int] = field(default_factory=list)  # grid column of each header
    title: str | None = None  # the title row above the header, if any (某某花名册)

    def header_spec(self, grid: Grid) -> HeaderSpec:
        return HeaderSpec(row=grid.row_numbers[self.header_index].as_py(), rows=self.header_rows)


def find_layout(grid: Grid, spec: HeaderSpec | None = None) -> Layout:
    """Locate header rows (detected, or at `spec`) and the data block below them."""
    head = grid.head(SCAN_ROWS + 3)
    if not head:
        raise ValueError("文件中没有任何数据")
    if spec is not None:
        numbers = grid.row_numbers.to_pylist()
        if spec.row not in numbers:
            raise ValueError(f"登记的表头行 第{spec.row}行 不在文件中")
        h, n = numbers.index(spec.row), spec.rows
    else:
        h, n = detect_header(head)
    rows = [head[h + k] for k in range(n)]
    joined = join_header_rows(rows)
    data_end, dropped = _find_footer(grid, h + n)
    # a column with neither a header nor a value (a title row's trailing commas) holds nothing
    keep = [
        i
        for i, name in enumerate(joined)
        if name or grid.columns[i].slice(h + n, data_end - h - n).null_count < data_end - h - n
    ]
    headers = _dedupe([joined[i] for i in keep], [i + 1 for i in keep])
    title = next((_clean(c) for r in head[:h] for c in r if _clean(c)), None)
    return Layout(headers, h, n, h + n, data_end, dropped, keep, title)


def detect_header(rows: list[list[str | None]]) -> tuple[int, int]:
    """(index of the first header row, how many rows the header spans).

    The header is the first row that fills at least half the table's width with labels;
    the row below joins it when it fills gaps the first row left (a merged group header).
    """
    width = max(_filled(r) for r in rows[:SCAN_ROWS])
    need = max(2, (width + 1) // 2)
    for i, row in enumerate(rows[:SCAN_ROWS]):
        if not _labels(row):
            continue
        nxt = rows[i + 1] if i + 1 < len(rows) else []
        merged = bool(nxt) and _filled(row) >= 2 and _labels(nxt) and _fills_gaps(row, nxt)
        # a group row (家庭成员信息 over 姓名, 性别 …) is sparse on its own: judge the pair
        pair = [a or b for a, b in zip(row, nxt, strict=True)] if merged else row
        if _filled(pair) >= need:
            return i, 2 if merged else 1
    raise ValueError(f"前 {SCAN_ROWS} 行中找不到表头行（需要至少 {need} 个非空的列名）")


def join_header_rows(rows: list[list[str | None]]) -> list[str]:
    """Merge a two-row header: a group label spans the gaps to its right (家庭成员信息/姓名)."""
    top = [_clean(c) for c in rows[0]]
    if len(rows) == 1:
        return [t or "" for t in top]
    bottom = [_clean(c) for c in rows[1]]
    out: list[str] = []
    parent = None
    for t, b in zip(top, bottom, strict=True):
        if t:
            parent = t
        if b and parent and b != parent:
            out.append(f"{t or parent}/{b}")
        else:
            out.append(t or b or "")
            if not t:
                parent = None
    return out


def is_footer(row: list[str | None]) -> bool:
    cells = [c for c in row if c]
    if not cells:
        return True
    first = _SPACE.sub("", cells[0])
    if first.startswith(FOOTER_WORDS):
        return True
    return len(cells) <= 3 and any(_SPACE.sub("", c).startswith(FOOTER_WORDS) for c in cells)


def _find_footer(grid: Grid, start: int) -> tuple[int, list[int]]:
    end = grid.height
    dropped: list[int] = []
    while end > start and is_footer(grid.row(end - 1)):
        end -= 1
        if any(grid.row(end)):
            dropped.append(grid.row_numbers[end].as_py())
    return end, sorted(dropped)


def _filled(row: list[str | None]) -> int:
    return sum(1 for c in row if c)


def _labels(row: list[str | None]) -> bool:
    cells = [c for c in row if c]
    if not cells:
        return False
    bad = sum(1 for c in cells if _NUMBER.match(c) or _DIGITS.search(c))
    return bad <= len(cells) // 10


def _fills_gaps(top: list[str | None], below: list[str | None]) -> bool:
    last = max(i for i, c in enumerate(top) if c)
    # a group label last in the row covers the gaps after it when its first child sits under it
    limit = len(below) if last < len(below) and below[last] else min(last + 1, len(below))
    return any(not top[i] and below[i] for i in range(limit))


def _clean(cell: str | None) -> str | None:
    if cell is None:
        return None
    text = _SPACE.sub("", cell)
    return text or None


def _dedupe(headers: list[str], positions: list[int]) -> list[str]:
    """Unique names; an unnamed column is called by its position in the file (第4列)."""
    out: list[str] = []
    for i, h in zip(positions, headers, strict=True):
        name = h or f"第{i}列"
        base, k = name, 2
        while name in out:
            name = f"{base}({k})"
            k += 1
        out.append(name)
    return out
