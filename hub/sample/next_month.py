"""Next month's export of a roster, made from this month's file: some rows changed, some
residents new, some gone. For `hub bench incremental` (and tests) to feed a district a month.

The workbook is edited in place (titles, merged headers and all), so the next month looks
like the department's own file.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl

from hub.normalize.cn_id import make_id

_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰凤"


@dataclass
class MonthChange:
    rows: int  # data rows in the new file
    changed: int
    new: int
    dropped: int


def next_month_xlsx(
    path: Path,
    dest_dir: Path,
    period: str,
    seed: int = 7,
    changed: float = 0.05,
    new: float = 0.01,
    dropped: float = 0.01,
) -> tuple[Path, MonthChange]:
    """Write the roster `path` as of `period` (YYYYMM) into `dest_dir`: a share of rows with
    a changed phone and amount, new residents (valid new IDs), some residents gone."""
    rng = random.Random(seed)
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header_row, cols = _header(ws)
    first = header_row + 1
    width, height = ws.max_column, ws.max_row  # each computed over every cell: once
    at = [r for r in range(first, height + 1) if _is_data(ws.cell(r, cols["id"]).value)]
    rows = [[ws.cell(r, c).value for c in range(1, width + 1)] for r in at]
    n = len(rows)
    keep = [r for r in rows if rng.random() >= dropped]
    n_changed = 0
    for r in keep:
        if rng.random() < changed:
            n_changed += 1
            if "phone" in cols:
                r[cols["phone"] - 1] = f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}"
            if "amount" in cols and isinstance(r[cols["amount"] - 1], (int, float)):
                r[cols["amount"] - 1] = round(float(r[cols["amount"] - 1]) + 10, 2)
    fresh = []
    for i in range(max(1, int(n * new))):
        r = list(rng.choice(rows))
        born = date(rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28))
        r[cols["id"] - 1] = make_id("650103", born, rng.randint(100, 998))
        r[cols["name"] - 1] = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
        if "birth" in cols:
            r[cols["birth"] - 1] = born.isoformat()
        if "seq" in cols:
            r[cols["seq"] - 1] = n + i + 1
        fresh.append(r)
    out = keep + fresh
    last = at[-1]
    # the footer (合计, 填表人) moves with the data: its merges would not, so they go
    for rng_ in [m for m in ws.merged_cells.ranges if m.min_row > last]:
        ws.unmerge_cells(str(rng_))
    if len(out) > (last - first + 1):
        ws.insert_rows(last + 1, len(out) - (last - first + 1))
    elif len(out) < (last - first + 1):
        ws.delete_rows(first + len(out), (last - first + 1) - len(out))
    for i, values in enumerate(out):
        for c, v in enumerate(values, start=1):
            ws.cell(first + i, c).value = v
    name = re.sub(r"\d{6}(?=\.xlsx$)", period, path.name.split("_", 1)[-1])
    if name == path.name.split("_", 1)[-1]:
        name = name.replace(".xlsx", f"_{period}.xlsx")
    target = dest_dir / name
    wb.save(target)
    return target, MonthChange(len(out), n_changed, len(fresh), n - len(keep))


def _header(ws: object) -> tuple[int, dict[str, int]]:
    """The last header row and the columns of ID, name, phone, birth date, amount, 序号."""
    want = {
        "id": "身份证",
        "name": "姓名",
        "phone": "电话",
        "birth": "出生",
        "amount": "金额",
        "seq": "序号",
    }
    found: dict[str, int] = {}
    last = 0
    for row in ws.iter_rows(max_row=8):  # type: ignore[attr-defined]
        for cell in row:
            text = cell.value if isinstance(cell.value, str) else ""
            for key, word in want.items():
                if word in text and (key != "name" or "户主" not in text):
                    found.setdefault(key, cell.column)
                    last = max(last, cell.row)
    if "id" not in found or "name" not in found:
        raise ValueError("找不到身份证号码或姓名列")
    return last, found


def _is_data(value: object) -> bool:
    return isinstance(value, str) and len(value.strip()) >= 15
