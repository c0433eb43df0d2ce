"""Write a report the way the department files it: XLSX with a title row, its headers, the
rows and a 合计 row (plus a CSV of the same rows for machines)."""

from __future__ import annotations

import csv
import os
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from hub.registry.reports import Report

TOTAL_LABEL = "合计"


def totals(report: Report, table: pa.Table) -> list[str]:
    """The 合计 row: the head count under the first column, sums where a column asks for one."""
    row = [""] * len(report.columns)
    row[0] = TOTAL_LABEL
    if len(row) > 1:
        row[1] = f"{table.num_rows} 人"
    for i, col in enumerate(report.columns):
        if col.total and i > 1:
            row[i] = _sum(table.column(i).to_pylist())
    return row


def _sum(values: list[str | None]) -> str:
    total = Decimal(0)
    for v in values:
        try:
            total += Decimal(v) if v not in (None, "") else 0
        except InvalidOperation:
            continue
    return f"{total.normalize():f}"


def write_xlsx(path: Path, report: Report, title: str, table: pa.Table, made_by: str) -> None:
    import xlsxwriter

    tmp = path.with_name(f".{path.name}.part")
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False})
    try:
        ws = wb.add_worksheet((report.sheet or report.title)[:31])
        n = len(report.columns)
        title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
        head_fmt = wb.add_format(
            {"bold": True, "border": 1, "align": "center", "bg_color": "#EEEEEE"}
        )
        cell_fmt = wb.add_format({"border": 1})
        total_fmt = wb.add_format({"border": 1, "bold": True})
        ws.merge_range(0, 0, 0, max(n - 1, 0), title, title_fmt)
        for j, col in enumerate(report.columns):
            ws.write_string(1, j, col.header, head_fmt)
            ws.set_column(j, j, max(6, min(40, len(col.header) * 2 + 4)))
        rows = table.to_pylist()
        for i, row in enumerate(rows, start=2):
            for j, col in enumerate(report.columns):
                value = row[col.header]
                ws.write_string(i, j, "" if value is None else str(value), cell_fmt)
        last = len(rows) + 2
        for j, value in enumerate(totals(report, table)):
            ws.write_string(last, j, value, total_fmt)
        ws.write_string(last + 1, 0, f"制表单位：{made_by}　　制表日期：{date.today().isoformat()}")
        ws.freeze_panes(2, 0)
    finally:
        wb.close()
    os.replace(tmp, path)


def write_csv(path: Path, report: Report, table: pa.Table) -> None:
    tmp = path.with_name(f".{path.name}.part")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:  # the BOM: Excel opens it right
        w = csv.writer(fh)
        w.writerow([c.header for c in report.columns])
        for row in table.to_pylist():
            w.writerow(["" if row[c.header] is None else row[c.header] for c in report.columns])
    os.replace(tmp, path)
