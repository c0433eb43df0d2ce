"""The Excel path: a prefilled XLSX of one community's residents, to fill offline.

Code fields show labels (男, 城市低保…) chosen from drop-down lists built from the code
lists; dates, numbers and ID numbers have input validation. Values held by their authority
are locked (the sheet is protected without a password: it stops slips, not people). The
headers are the form source's, so a filled template loads like any department table.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from hub.form.consolidated import ConsolidatedForm, FormField
from hub.form.values import as_text, choices
from hub.registry.formsource import PERSON_REF, SUBMISSION, SUBMITTED_BY
from hub.registry.loader import Registry

BLANK_ROWS = 200  # room for new residents, with the same lists and checks
HEADER_ROW = 1  # row 0 is the title


def template_name(community: str, day: date) -> str:
    """Matches the form source's file pattern, so a filled copy dropped in incoming loads."""
    return f"社区一张表_{community}_{day:%Y-%m-%d}.xlsx"


def write_template(
    path: Path,
    registry: Registry,
    form: ConsolidatedForm,
    community: str,
    people: list[dict[str, Any]],
) -> int:
    """Write the template; returns the number of residents in it."""
    name = next(c.name for c in registry.orgs.communities if c.code == community)
    lists = _choice_lists(registry, form, community)
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet("社区一张表")
        codes = wb.add_worksheet("代码表")
        fmt = _formats(wb)
        fields = form.fields
        ws.merge_range(0, 0, 0, len(fields) + 1, f"社区一张表（{name}）", fmt["title"])
        ws.write(HEADER_ROW, 0, PERSON_REF, fmt["header"])
        ws.set_column(0, 0, 20, None, {"hidden": True})
        for j, f in enumerate(fields, start=1):
            ws.write(HEADER_ROW, j, f.label, fmt["header"])
            ws.set_column(j, j, max(10, 2 * len(f.label) + 2))
        # the form source's bookkeeping columns: who filled the row in; no submission id here
        ws.write(HEADER_ROW, len(fields) + 1, SUBMITTED_BY, fmt["header"])
        ws.set_column(len(fields) + 1, len(fields) + 1, 10, fmt["open"])
        ws.write(HEADER_ROW, len(fields) + 2, SUBMISSION, fmt["header"])
        ws.set_column(len(fields) + 2, len(fields) + 2, 10, None, {"hidden": True})
        ranges = _write_lists(codes, lists)
        last = HEADER_ROW + len(people) + BLANK_ROWS
        for j, f in enumerate(fields, start=1):
            _validate(ws, j, last, f, ranges.get(f.name))
        for i, person in enumerate(people, start=HEADER_ROW + 1):
            ws.write_string(i, 0, person["person_id"], fmt["locked"])
            for j, f in enumerate(fields, start=1):
                _cell(ws, i, j, f, person.get(f.name), lists.get(f.name), fmt)
        for i in range(HEADER_ROW + 1 + len(people), last + 1):
            ws.set_row(i, None, fmt["open"])
        codes.hide()
        ws.freeze_panes(HEADER_ROW + 1, 3)
        ws.protect("", {"format_columns": True, "sort": True, "autofilter": True})
    return len(people)


def _choice_lists(
    registry: Registry, form: ConsolidatedForm, community: str
) -> dict[str, dict[str, str]]:
    """Per select field, code -> the label shown in the cell."""
    lists = {f.name: dict(choices(registry, f, community)) for f in form.fields}
    return {name: options for name, options in lists.items() if options}


def _formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    return {
        "title": wb.add_format({"bold": True, "font_size": 14, "align": "center"}),
        "header": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
        "locked": wb.add_format({"locked": True, "bg_color": "#EEEEEE"}),
        "open": wb.add_format({"locked": False}),
        "open_date": wb.add_format({"locked": False, "num_format": "yyyy-mm-dd"}),
        "locked_date": wb.add_format(
            {"locked": True, "bg_color": "#EEEEEE", "num_format": "yyyy-mm-dd"}
        ),
    }


def _write_lists(ws: Any, lists: dict[str, dict[str, str]]) -> dict[str, str]:
    ranges = {}
    for j, (name, options) in enumerate(lists.items()):
        ws.write(0, j, name)
        for i, label in enumerate(options.values(), start=1):
            ws.write_string(i, j, label)
        col = xl_col_to_name(j)
        ranges[name] = f"=代码表!${col}$2:${col}${len(options) + 1}"
    return ranges


def _validate(ws: Any, col: int, last: int, f: FormField, source: str | None) -> None:
    first = HEADER_ROW + 1
    if source:
        rule: dict[str, Any] = {"validate": "list", "source": source}
    elif f.type == "date":
        rule = {"validate": "date", "criteria": "between"}
        rule |= {"minimum": date(1900, 1, 1), "maximum": date(2100, 12, 31)}
    elif f.type in ("integer", "decimal"):
        rule = {"validate": f.type, "criteria": ">=", "value": 0}
    elif f.name in ("citizen_id", "household_head_id"):
        rule = {"validate": "length", "criteria": "between", "minimum": 15, "maximum": 18}
    else:
        return
    rule |= {"error_title": f.label, "error_message": _hint(f), "ignore_blank": True}
    ws.data_validation(first, col, last, col, rule)


def _hint(f: FormField) -> str:
    if f.type == "date":
        return "请填写日期，如 1950-03-08"
    if f.type in ("integer", "decimal"):
        return "请填写不小于 0 的数字"
    if f.name in ("citizen_id", "household_head_id"):
        return "公民身份号码应为 18 位（旧号 15 位）"
    return "请从下拉列表中选择"


def _cell(
    ws: Any,
    i: int,
    j: int,
    f: FormField,
    value: Any,
    options: dict[str, str] | None,
    fmt: dict[str, Any],
) -> None:
    locked = (bool(f.authority) and value is not None) or f.name == "community_code"
    if f.type == "date" and isinstance(value, date):
        ws.write_datetime(i, j, value, fmt["locked_date" if locked else "open_date"])
        return
    text = as_text(value)
    if options is not None:
        text = options.get(text, text)
    ws.write_string(i, j, text, fmt["locked" if locked else "open"])
