"""Write a table the way departments export it: CSV in their encoding, XLSX with titles,
two-row merged headers and 合计 / 填表人 footers."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import xlsxwriter

from hub.sample.departments import SourceSpec

FOOTER_SIGNERS = "填表人：王丽        审核人：陈建国        填表日期："


def write_table(spec: SourceSpec, rows: list[list[Any]], path: Path, filled_on: str) -> int:
    """Write `rows` under `spec`'s layout; returns the 1-based file row of the first data row."""
    if spec.fmt == "csv":
        return _write_csv(spec, rows, path)
    return _write_xlsx(spec, rows, path, filled_on)


def _write_csv(spec: SourceSpec, rows: list[list[Any]], path: Path) -> int:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for title in spec.title_rows:
        w.writerow([title])
    w.writerow([c.header for c in spec.columns])
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(spec.encoding))
    return len(spec.title_rows) + 2


def _write_xlsx(spec: SourceSpec, rows: list[list[Any]], path: Path, filled_on: str) -> int:
    # Merged header cells write rows out of order, which constant_memory mode forbids.
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": not spec.merged})
    ws = wb.add_worksheet(spec.title[:31])
    bold = wb.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1})
    title_fmt = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    ncol = len(spec.columns)
    r = 0
    for i, title in enumerate(spec.title_rows):
        ws.merge_range(r, 0, r, ncol - 1, title, title_fmt if i == 0 else None)
        r += 1
    if spec.merged:
        r = _merged_header(ws, spec, r, bold)
    else:
        ws.write_row(r, 0, [c.header for c in spec.columns], bold)
        r += 1
    first_data = r + 1
    for row in rows:
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
        r += 1
    if spec.footer:
        ws.write_string(r, 0, "合计")
        ws.write_string(r, 1, f"{len(rows)}人")
        ws.merge_range(r + 1, 0, r + 1, min(ncol - 1, 6), FOOTER_SIGNERS + filled_on)
    wb.close()
    return first_data


def _merged_header(ws: Any, spec: SourceSpec, r: int, fmt: Any) -> int:
    cols = spec.columns
    c = 0
    while c < len(cols):
        group = cols[c].group
        if group is None:
            ws.merge_range(r, c, r + 1, c, cols[c].header, fmt)
            c += 1
            continue
        end = c
        while end + 1 < len(cols) and cols[end + 1].group == group:
            end += 1
        ws.merge_range(r, c, r, end, group, fmt)
        for k in range(c, end + 1):
            ws.write_string(r + 1, k, cols[k].header, fmt)
        c = end + 1
    return r + 2
