"""Write a report the way a department files it: XLSX with a title row, its headers, the rows
as typed cells (numbers are numbers, dates are dates), a 合计 row summing the columns the
report marks `total`, print setup, and the issuing unit with a sign-off line; plus a CSV of the
same rows for machines."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from xlsxwriter.utility import xl_col_to_name

from hub.csv_safe import safe_cell
from hub.registry.loader import Registry
from hub.registry.reports import Report

TOTAL_LABEL = "合计"
HEADER_ROW = 1
_MIN_WIDTH = {"cn_id": 20, "cert_no": 24, "account": 22}  # IDs must show all 18 digits


@dataclass(frozen=True)
class Issued:
    """Who issues the report and when: printed under the table."""

    issuer: str
    day: date
    signatures: list[str]


def totals(report: Report, table: pa.Table) -> list[Any]:
    """The 合计 row: the head count in the second column, a sum under every `total` column."""
    row: list[Any] = [""] * len(report.columns)
    row[0] = TOTAL_LABEL
    if len(row) > 1 and not report.columns[1].total:
        row[1] = f"{table.num_rows} 人"
    for i, col in enumerate(report.columns):
        if col.total:
            value = pc.sum(table.column(i)).as_py()
            row[i] = value if value is not None else 0
    return row


def column_widths(report: Report, registry: Registry, table: pa.Table) -> list[int]:
    """Each column as wide as its widest value or header (a CJK character counts twice)."""
    out = []
    for i, col in enumerate(report.columns):
        text = pc.cast(table.column(i), pa.string())
        width = pc.add(pc.utf8_length(text), pc.count_substring_regex(text, r"[^\x00-\x7f]"))
        widest = pc.max(width).as_py() or 0
        header = len(col.header) * 2
        f = registry.fields.get(col.field or "")
        floor = _MIN_WIDTH.get(f.normalize, 6) if f else 6
        out.append(int(min(50, max(floor, widest + 2, header + 2))))
    return out


def write_xlsx(
    path: Path, report: Report, registry: Registry, title: str, table: pa.Table, issued: Issued
) -> None:
    import xlsxwriter

    tmp = path.with_name(f".{path.name}.part")
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False})
    try:
        ws = wb.add_worksheet(sheet_name(report.sheet or report.title))
        fmt = _formats(wb)
        n = len(report.columns)
        # written as text: a title may come from a department's draft (=… is no formula)
        if n > 1:
            ws.merge_range(0, 0, 0, n - 1, "", fmt["title"])
        ws.write_string(0, 0, title, fmt["title"])
        ws.set_row(0, 28)
        for j, (col, width) in enumerate(
            zip(report.columns, column_widths(report, registry, table), strict=True)
        ):
            ws.write_string(HEADER_ROW, j, col.header, fmt["head"])
            ws.set_column(j, j, width)
        kinds = [_kind(table.schema.field(j).type) for j in range(n)]
        first = HEADER_ROW + 1
        for j, kind in enumerate(kinds):
            for i, value in enumerate(table.column(j).to_pylist(), start=first):
                _write(ws, i, j, value, kind, fmt)
        last = first + table.num_rows
        _total_row(ws, report, table, first, last, kinds, fmt)
        _footer(ws, issued, last + 2, n, fmt)
        _print_setup(ws, last + 3)
        ws.freeze_panes(first, 0)
    finally:
        wb.close()
    os.replace(tmp, path)


def _formats(wb: Any) -> dict[str, Any]:
    cell = {"border": 1, "valign": "vcenter"}
    return {
        "title": wb.add_format(
            {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"}
        ),
        "head": wb.add_format(
            cell | {"bold": True, "align": "center", "bg_color": "#EEEEEE", "text_wrap": True}
        ),
        "text": wb.add_format(cell),
        "int": wb.add_format(cell | {"num_format": "0"}),
        "money": wb.add_format(cell | {"num_format": "#,##0.00"}),
        "date": wb.add_format(cell | {"num_format": "yyyy-mm-dd", "align": "center"}),
        "total": wb.add_format(cell | {"bold": True}),
        "total_int": wb.add_format(cell | {"bold": True, "num_format": "0"}),
        "total_money": wb.add_format(cell | {"bold": True, "num_format": "#,##0.00"}),
        "note": wb.add_format({"font_size": 11}),
    }


def _kind(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_decimal(t) or pa.types.is_floating(t):
        return "money"
    if pa.types.is_date(t):
        return "date"
    return "text"


def _write(ws: Any, i: int, j: int, value: Any, kind: str, fmt: dict[str, Any]) -> None:
    if value is None:
        ws.write_blank(i, j, None, fmt[kind])
    elif kind in ("int", "money"):
        ws.write_number(i, j, float(value), fmt[kind])
    elif kind == "date":
        ws.write_datetime(i, j, value, fmt["date"])
    else:
        ws.write_string(i, j, str(value), fmt["text"])


def _total_row(
    ws: Any,
    report: Report,
    table: pa.Table,
    first: int,
    last: int,
    kinds: list[str],
    fmt: dict[str, Any],
) -> None:
    """合计: a SUM formula (with its value cached, so it shows before Excel recalculates)."""
    for j, value in enumerate(totals(report, table)):
        if report.columns[j].total:
            col = xl_col_to_name(j)
            formula = f"=SUM({col}{first + 1}:{col}{max(last, first + 1)})"
            ws.write_formula(last, j, formula, fmt[f"total_{kinds[j]}"], float(value))
        else:
            ws.write_string(last, j, str(value), fmt["total"])


def _footer(ws: Any, issued: Issued, row: int, n: int, fmt: dict[str, Any]) -> None:
    made = f"制表单位：{issued.issuer}　　　　制表日期：{issued.day:%Y年%m月%d日}"
    signs = "　　　　".join(f"{s}：＿＿＿＿＿＿" for s in issued.signatures)
    for r, text in ((row, made), (row + 1, signs)):
        if n > 1:
            ws.merge_range(r, 0, r, n - 1, text, fmt["note"])
        else:
            ws.write_string(r, 0, text, fmt["note"])


def _print_setup(ws: Any, last_row: int) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # as wide as one page, as many pages down as it takes
    ws.repeat_rows(0, HEADER_ROW)  # title and headers on every page
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.print_area(0, 0, last_row, ws.dim_colmax or 0)


def sheet_name(text: str) -> str:
    """A name Excel accepts for a sheet: none of []:*?/\\, not blank, 31 characters at most."""
    name = re.sub(r"[\[\]:*?/\\]", "_", text).strip("'").strip()[:31]
    return name or "报表"


def file_stem(text: str) -> str:
    """A file name of `text` that stays in its folder: no separators, no leading dot."""
    name = re.sub(r'[\x00-\x1f/\\:*?"<>|]', "_", text).strip().lstrip(".")
    return name[:120] or "报表"


def write_csv(path: Path, report: Report, table: pa.Table) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:  # the BOM: Excel opens it right
        w = csv.writer(fh)
        w.writerow([safe_cell(c.header) for c in report.columns])  # headers may come from a draft
        columns = [table.column(i).to_pylist() for i in range(len(report.columns))]
        for row in zip(*columns, strict=True):
            w.writerow([safe_cell(v) for v in row])
    os.replace(tmp, path)
