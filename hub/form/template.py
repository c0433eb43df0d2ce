"""The Excel path: a prefilled XLSX of one community's residents, to fill offline.

Code fields show labels (男, 城市低保…) chosen from drop-down lists built from the code
lists; dates and numbers are typed cells with input validation. Values held by their
authority, known ID numbers and the community are locked, and the sheet is protected with a
password (it stops slips; the real guard is on import). A very hidden sheet keeps what every
cell was prefilled with, signed with the installation's key: the import submits only what the
worker changed, tells an edited locked cell, and knows the community from the content, not
from the file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from hub.form.consolidated import ConsolidatedForm, FormField
from hub.form.prefill import PREFILL_SHEET, Prefill, cell_text, protect_password
from hub.form.values import as_text, choices, locked
from hub.registry.formsource import PERSON_REF, SUBMITTED_BY
from hub.registry.loader import Registry

DATA_SHEET = "社区一张表"
CODES_SHEET = "代码表"
HELP_SHEET = "填写说明"
# long digit strings kept as text: typed as a number, Excel would round an 18-digit ID
DIGIT_TEXT = {
    "citizen_id",
    "household_head_id",
    "phone",
    "emergency_phone",
    "bank_account",
    "disability_cert_no",
    "assistance_cert_no",
    "household_id",
}
BLANK_ROWS = 200  # room for new residents, with the same lists and checks
HEADER_ROW = 1  # row 0 is the title


def template_name(community: str, day: date) -> str:
    """The suggested file name; the import does not rely on it (the content says whose it is)."""
    return f"社区一张表_{community}_{day:%Y-%m-%d}.xlsx"


@dataclass
class TemplateInfo:
    community: str
    residents: int
    made_at: str
    path: Path


def write_template(
    path: Path,
    registry: Registry,
    form: ConsolidatedForm,
    community: str,
    people: list[dict[str, Any]],
    secret: str,
    release: int | None = None,
    held: dict[str, set[str]] | None = None,
) -> TemplateInfo:
    """Write the template of `community` for `people` (its residents, as published).

    `held`: per resident, the fields whose value its authority holds (locked in the sheet);
    None locks every known value of an authority field."""
    name = next(c.name for c in registry.orgs.communities if c.code == community)
    lists = _choice_lists(registry, form, community)
    made_at = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    prefill = Prefill(community, made_at, release, [f.name for f in form.fields], [])
    fields = form.fields
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet(DATA_SHEET)
        _help_sheet(wb, name, len(people))
        fmt = _formats(wb)
        last_col = len(fields) + 1
        title = f"社区一张表（{name}，{len(people)} 位居民，{made_at[:10]} 生成）"
        ws.merge_range(0, 0, 0, last_col, title, fmt["title"])
        for j, f in enumerate(fields):
            ws.write(HEADER_ROW, j, f.label, fmt["header"])
            ws.set_column(j, j, _width(f))
        ws.write(HEADER_ROW, last_col - 1, SUBMITTED_BY, fmt["header"])
        ws.set_column(last_col - 1, last_col - 1, 10, fmt["open"])
        ws.write(HEADER_ROW, last_col, PERSON_REF, fmt["header"])
        ws.set_column(last_col, last_col, 20)
        ranges = _code_sheet(wb, form, lists)
        last = HEADER_ROW + len(people) + BLANK_ROWS
        for j, f in enumerate(fields):
            _validate(ws, j, last, f, ranges.get(f.name))
        for i, person in enumerate(people, start=HEADER_ROW + 1):
            mine = None if held is None else held.get(person["person_id"], set())
            cells = [
                _cell(ws, i, j, f, person, lists.get(f.name), fmt, mine)
                for j, f in enumerate(fields)
            ]
            ws.write_string(i, last_col, person["person_id"], fmt["locked"])
            prefill.rows.append([person["person_id"], *(text for text, _ in cells)])
            prefill.locks.append("".join("1" if shut else "0" for _, shut in cells))
        digits = [j for j, f in enumerate(fields) if f.name in DIGIT_TEXT]
        for i in range(HEADER_ROW + 1 + len(people), last + 1):
            ws.set_row(i, None, fmt["open"])
            for j in digits:  # a cell's own format beats the row's: these stay text
                ws.write_blank(i, j, None, fmt["opentext"])
            ws.write_blank(i, last_col, None, fmt["locked"])  # new residents get an id on import
        ws.freeze_panes(HEADER_ROW + 1, 2)
        ws.activate()
        prefill.write(wb.add_worksheet(PREFILL_SHEET), secret)
        ws.protect(protect_password(secret, made_at), _PROTECTION)
    return TemplateInfo(community, len(people), made_at, path)


_PROTECTION = {"format_columns": True, "format_rows": True, "sort": True, "autofilter": True}


def _choice_lists(
    registry: Registry, form: ConsolidatedForm, community: str
) -> dict[str, dict[str, str]]:
    """Per select field, code -> the label shown in the cell."""
    lists = {f.name: dict(choices(registry, f, community)) for f in form.fields}
    return {name: options for name, options in lists.items() if options}


def _formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    grey = {"locked": True, "bg_color": "#EEEEEE"}
    return {
        "title": wb.add_format({"bold": True, "font_size": 14, "align": "center"}),
        "header": wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        ),
        "locked": wb.add_format(grey),
        "open": wb.add_format({"locked": False}),
        "open_date": wb.add_format({"locked": False, "num_format": "yyyy-mm-dd"}),
        "locked_date": wb.add_format(grey | {"num_format": "yyyy-mm-dd"}),
        "open_num": wb.add_format({"locked": False, "num_format": "0.##"}),
        "opentext": wb.add_format({"locked": False, "num_format": "@"}),
        "lockedtext": wb.add_format(grey | {"num_format": "@"}),
        "locked_num": wb.add_format(grey | {"num_format": "0.##"}),
        "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
        "bold": wb.add_format({"bold": True, "font_size": 13}),
    }


def _width(f: FormField) -> int:
    """Wide enough for the content: 18-digit IDs whole, addresses readable."""
    if f.name in ("citizen_id", "household_head_id", "disability_cert_no"):
        return 22
    if "address" in f.name or f.name == "employer":
        return 36
    if f.name in ("bank_account", "assistance_cert_no"):
        return 24
    if f.type == "date":
        return 12
    return max(10, 2 * len(f.label) + 2)


def _code_sheet(
    wb: xlsxwriter.Workbook, form: ConsolidatedForm, lists: dict[str, dict[str, str]]
) -> dict[str, str]:
    """A hidden sheet of the drop-down lists, headed by the fields' Chinese names."""
    ws = wb.add_worksheet(CODES_SHEET)
    labels = {f.name: f.label for f in form.fields}
    ranges = {}
    for j, (name, options) in enumerate(lists.items()):
        ws.write(0, j, labels[name])
        for i, label in enumerate(options.values(), start=1):
            ws.write_string(i, j, label)
        col = xl_col_to_name(j)
        ranges[name] = f"={CODES_SHEET}!${col}$2:${col}${len(options) + 1}"
        ws.set_column(j, j, max(10, 2 * len(labels[name])))
    ws.hide()
    return ranges


def _help_sheet(wb: xlsxwriter.Workbook, community: str, residents: int) -> None:
    ws = wb.add_worksheet(HELP_SHEET)
    fmt = _formats(wb)
    ws.set_column(0, 0, 100, fmt["wrap"])
    lines = [
        f"社区一张表 Excel 模板：{community}（预填 {residents} 位居民）",
        "1. 在「社区一张表」工作表中修改或补充居民信息，只需改动有变化的单元格；没有改动的内容不会被重复上报。",
        "2. 灰色单元格以登记部门（如公安局、民政局）为准，不能在此修改；已登记的身份证号码也不能修改。"
        "如登记有误，请联系对应部门更正。",
        "3. 有下拉箭头的单元格请从列表中选择；日期请填写为 1950-03-08 的形式；数字请填写阿拉伯数字。",
        "4. 新增居民：在表格下方的空白行填写，至少填写姓名、公民身份号码、性别和出生日期；"
        "没有身份证或号码需要核实的，在「无证或号码待核」一栏选「是」。人员编号一栏不用填，导入后由系统生成。",
        "5. 不要删除或调整列，不要修改隐藏的工作表。文件可以改名，系统根据文件内容识别所属社区。",
        "6. 填好后在「社区一张表」网页的「Excel 模板」页上传，或交给数据专班导入。"
        "上传后会列出每一行、每一格的问题；如果模板生成后系统中的信息已被更新，会列为待处理冲突，由您确认采用哪个值。",
        "7. 模板包含居民身份证号码、电话等敏感信息，请妥善保管，用完及时删除，不要通过公共网络转发。",
    ]
    ws.write(0, 0, lines[0], fmt["bold"])
    for i, line in enumerate(lines[1:], start=2):
        ws.write(i, 0, line)
        ws.set_row(i, 36)


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
    person: dict[str, Any],
    options: dict[str, str] | None,
    fmt: dict[str, Any],
    held: set[str] | None,
) -> tuple[str, bool]:
    """Write one prefilled cell, typed; returns its text as the import will read it back,
    and whether it is locked."""
    value = _typed(f, person.get(f.name))
    shut = locked(f, {f.name: as_text(value)}, held)
    if f.type == "date" and isinstance(value, date):
        ws.write_datetime(i, j, value, fmt["locked_date" if shut else "open_date"])
        return cell_text(f, value), shut
    if f.type in ("integer", "decimal") and value is not None:
        ws.write_number(i, j, float(value), fmt["locked_num" if shut else "open_num"])
        return cell_text(f, value), shut
    text = as_text(value)
    text = options.get(text, text) if options is not None else text
    kind = "text" if f.name in DIGIT_TEXT else ""
    ws.write_string(i, j, text, fmt[("locked" if shut else "open") + kind])
    return cell_text(f, text), shut


def _typed(f: FormField, value: Any) -> Any:
    """A pending value comes as text: dates and numbers are written as typed cells all the same."""
    if not isinstance(value, str) or not value:
        return value
    try:
        if f.type == "date":
            return date.fromisoformat(value)
        if f.type in ("integer", "decimal"):
            return Decimal(value)
    except (ValueError, InvalidOperation):
        return value
    return value
