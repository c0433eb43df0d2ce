"""Read one department file into an Arrow table of text cells named by its own headers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hub.ingest.csv_grid import read_csv_grid
from hub.ingest.grid import Grid, read_xlsx_grid, sheet_names
from hub.ingest.header import Layout, find_layout
from hub.ingest.limits import LimitExceeded, check_table, explain, precheck
from hub.ingest.sniff import NAMES, read_markup_grid, sniff
from hub.registry.config import Limits
from hub.registry.models import HeaderSpec

SOURCE_ROW = "_source_row"
SHEET_COLUMN = "工作表"
SHEET_ROWS = 10_000_000  # past any sheet's height (xlsx: 1,048,576 rows)
MAX_SHEETS = 200  # row numbers stay within INTEGER


class ReadError(ValueError):
    """The file cannot be read at all; the message names the file and what is wrong."""


@dataclass
class FileTable:
    table: pa.Table  # header columns (text) + _source_row
    headers: list[str]
    encoding: str | None
    sheet: str | None
    header: HeaderSpec
    dropped_footer: list[int] = field(default_factory=list)
    blank_rows: int = 0
    title: str | None = None
    notes: list[str] = field(default_factory=list)  # where the file differs from its registration


WORKBOOKS = ("xlsx", "xls", "xlsb", "ods")
MARKUP = ("csv", "html", "spreadsheetml", "docx")  # read whole, as one grid (not by sheet)


def file_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix.lstrip(".") in WORKBOOKS:
        return suffix.lstrip(".")
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix == ".docx":
        return "docx"
    raise ReadError(
        f"文件 {path.name}：不支持的文件类型 {suffix}（支持 .csv、.xlsx、.xls、.xlsb、.ods，"
        "以及 Word 文档 .docx 中的表格）"
    )


def read_file(
    path: Path,
    data: bytes | None = None,
    *,
    fmt: str | None = None,
    encoding: str = "auto",
    sheet: str | int | None = None,
    header: HeaderSpec | None = None,
    expected: list[str] | None = None,
    limits: Limits | None = None,
) -> FileTable:
    """Read `path` as ingestion does: encoding, sheet, header rows and footers handled.

    `encoding` and `header` are what the registration says; the file itself decides where
    they disagree with it (an export changes over time), and `notes` says so. `expected`
    (the registered headers) picks between a detected and a declared header row.

    Example:
        >>> ft = read_file(Path("data/sample/民政_城市低保花名册_202510.xlsx"))
        >>> ft.header.rows
        2
    """
    named = file_format(path, fmt)
    limits = limits or Limits()
    # the content decides: systems save HTML or XML under .xls, workbooks under .csv
    real = sniff(path) if path.is_file() else ("text" if named == "csv" else named)
    kind = "csv" if real == "text" else real
    if kind in MARKUP and data is None:
        data = path.read_bytes()
    try:
        precheck(path, data if kind == "csv" else None, limits, workbook=kind == "xlsx")
        if kind == "csv":
            grid = read_csv_grid(path, data or b"", encoding)
        elif kind in MARKUP:
            grid = read_markup_grid(path, kind, data or b"")
        if kind in MARKUP:
            layout = choose_layout(grid, header, expected)
        else:
            grid, layout = _pick_sheet(path, sheet, header, expected)
        if kind != named and (kind == "csv" or kind in WORKBOOKS):
            grid.notes.append(f"文件名为 {path.suffix}，实为{NAMES[real]}，已按实际格式读取")
    except ReadError:
        raise
    except Exception as exc:  # reader libraries raise many types; the user needs one message
        raise ReadError(f"文件 {path.name}：{_reason(exc)}") from exc
    ft = _table_of(grid, layout)
    if kind in WORKBOOKS and sheet is None:
        try:
            ft = _with_sibling_sheets(path, ft, header)
        except Exception as exc:  # a damaged extra sheet: the user needs one message
            raise ReadError(f"文件 {path.name}：{_reason(exc)}") from exc
    ft.notes = [*ft.notes, *_drift_notes(ft, encoding, header)]
    try:
        check_table(ft.table, ft.headers, ft.table[SOURCE_ROW].combine_chunks(), limits)
    except LimitExceeded as exc:
        raise ReadError(f"文件 {path.name}：{exc}") from exc
    return ft


def _table_of(grid: Grid, layout: Layout) -> FileTable:
    ft = _to_table(
        grid,
        layout.headers,
        layout.column_index,
        layout.data_start,
        layout.data_end,
        layout.header_spec(grid),
        layout.dropped_footer,
    )
    ft.title = layout.title
    ft.notes = list(grid.notes)
    return ft


def _with_sibling_sheets(path: Path, ft: FileTable, header: HeaderSpec | None) -> FileTable:
    """A workbook of one sheet per community or street in the same layout (a common 花名册
    shape) is one batch: every sheet whose headers equal the chosen one's is appended, each
    row keeping its sheet's name in a 工作表 column (mapped like any column: a sheet named for
    a community fills community_code) and numbered SHEET_ROWS × the sheet's position + its
    row, so rows stay unique in the batch and sheet and row can be read back."""
    names = sheet_names(path)
    if len(names) < 2 or ft.sheet not in names:
        return ft
    parts: list[tuple[int, str, FileTable]] = []
    differ: list[str] = []  # sheets with a table of another layout: their rows are not loaded
    for pos, name in enumerate(names[:MAX_SHEETS]):
        if name == ft.sheet:
            parts.append((pos, name, ft))
            continue
        grid = read_xlsx_grid(path, name)
        try:
            layout = choose_layout(grid, header, ft.headers)
        except ValueError:
            continue  # a cover sheet, notes, an empty sheet
        if layout.headers == ft.headers:
            parts.append((pos, name, _table_of(grid, layout)))
        else:
            differ.append(name)
    skipped = []
    if differ:
        skipped.append(
            f"工作表{_listed(differ)}的表头与「{ft.sheet}」不同，未加载：请改成相同的列后重报，"
            "或另行登记"
        )
    if len(names) > MAX_SHEETS:
        skipped.append(
            f"工作簿有 {len(names)} 个工作表，只读取了前 {MAX_SHEETS} 个；"
            f"未加载的工作表：{_listed(names[MAX_SHEETS:])}，请拆成多个文件重报"
        )
    if len(parts) < 2:
        return replace(ft, notes=[*ft.notes, *skipped]) if skipped else ft
    column = SHEET_COLUMN if SHEET_COLUMN not in ft.headers else f"所在{SHEET_COLUMN}"
    tables = []
    for pos, name, part in parts:
        rows = pc.add(part.table[SOURCE_ROW], pa.scalar(pos * SHEET_ROWS, pa.int32()))
        t = part.table.drop_columns([SOURCE_ROW])
        t = t.append_column(column, pa.array([name] * t.num_rows, pa.string()))
        tables.append(t.append_column(SOURCE_ROW, rows))
    shown = "、".join(n for _, n, _ in parts[:5]) + ("…" if len(parts) > 5 else "")
    return FileTable(
        table=pa.concat_tables(tables),
        headers=[*ft.headers, column],
        encoding=ft.encoding,
        sheet=None,  # each row names its own sheet
        header=ft.header,
        dropped_footer=sorted(
            pos * SHEET_ROWS + r for pos, _, part in parts for r in part.dropped_footer
        ),
        blank_rows=sum(part.blank_rows for _, _, part in parts),
        # 幸福社区高龄老人花名册 is the sheet's title; the batch's is 高龄老人花名册
        title=ft.title.replace(ft.sheet or "", "", 1).strip() or ft.title if ft.title else None,
        notes=[
            *ft.notes,
            f"工作簿有 {len(parts)} 个格式相同的工作表（{shown}），已合并为一批，"
            f"每行的所在工作表记在「{column}」列；第 k 个工作表的第 n 行记为行号 "
            f"(k-1)×{SHEET_ROWS}+n",
            *skipped,
        ],
    )


def _listed(names: list[str]) -> str:
    return "「" + "」「".join(names[:5]) + "」" + (f"等 {len(names)} 个" if len(names) > 5 else "")


def sheet_and_row(source_row: int) -> tuple[int, int]:
    """(0-based sheet position, row in that sheet) of a row of a stacked workbook batch."""
    return divmod(source_row, SHEET_ROWS)


def _pick_sheet(
    path: Path, sheet: str | int | None, header: HeaderSpec | None, expected: list[str] | None
) -> tuple[Grid, Layout]:
    """The registered sheet; else the first whose table holds the registered headers (a
    cover sheet of 填表说明 may come first), else the first with a table at all."""
    grid = read_xlsx_grid(path, sheet)
    try:
        layout = choose_layout(grid, header, expected)
        if sheet is not None or not expected or set(expected) & set(layout.headers):
            return grid, layout
        fallback: tuple[Grid, Layout] | Exception = (grid, layout)
    except ValueError as exc:
        if sheet is not None:
            raise
        fallback = exc
    for name in sheet_names(path):
        if name == grid.sheet:
            continue
        other = read_xlsx_grid(path, name)
        try:
            found = choose_layout(other, header, expected)
        except ValueError:
            continue
        if not expected or set(expected) & set(found.headers) or isinstance(fallback, Exception):
            other.notes.append(f"工作表「{grid.sheet}」不是数据表，已读取工作表「{name}」")
            return other, found
    if isinstance(fallback, Exception):
        names = sheet_names(path)
        if len(names) < 2:
            raise fallback
        raise ValueError(f"每个工作表都没有数据表：{fallback}（看过的工作表：{'、'.join(names)}）")
    return fallback


def _reason(exc: Exception) -> str:
    """Our own messages are Chinese already; a reader library's are explained."""
    text = str(exc)
    own = isinstance(exc, ValueError) and re.search(r"[\u4e00-\u9fff]", text)
    return text if own else explain(exc)


def choose_layout(grid: Grid, declared: HeaderSpec | None, expected: list[str] | None) -> Layout:
    """The detected header layout, or the declared one where it finds more expected headers."""
    layouts: list[Layout] = []
    errors: list[Exception] = []
    for spec in (None, declared) if declared else (None,):
        try:
            layouts.append(find_layout(grid, spec))
        except ValueError as exc:
            errors.append(exc)
    if not layouts:
        raise errors[0]
    if expected is None:
        return layouts[-1]  # a declared layout, given no headers to judge by, is an override
    want = set(expected)
    return max(layouts, key=lambda lay: len(want.intersection(lay.headers)))


def _drift_notes(ft: FileTable, encoding: str, header: HeaderSpec | None) -> list[str]:
    notes = []
    same = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb18030", "gb18030": "gb18030"}
    if (
        encoding != "auto"
        and ft.encoding
        and same.get(encoding, encoding) != same.get(ft.encoding, ft.encoding)
    ):
        notes.append(f"文件编码为 {ft.encoding}，与登记的 {encoding} 不同，已按 {ft.encoding} 读取")
    if header is not None and header != ft.header:
        notes.append(
            f"表头位置与登记不同：登记为第 {header.row} 行（{header.rows} 行表头），"
            f"文件为第 {ft.header.row} 行（{ft.header.rows} 行表头），已按文件识别"
        )
    return notes


def _to_table(
    grid: Grid,
    headers: list[str],
    index: list[int],
    start: int,
    end: int,
    spec: HeaderSpec,
    dropped: list[int],
) -> FileTable:
    length = max(0, end - start)
    # text columns even when empty: a header-only file has no values to infer a type from
    cols = {
        h: pc.cast(grid.columns[i].slice(start, length), pa.string())
        for h, i in zip(headers, index, strict=True)
    }
    table = pa.table({**cols, SOURCE_ROW: grid.row_numbers.slice(start, length)})
    blank = _blank_mask(table, headers)
    blank_count = pc.sum(blank).as_py() or 0
    if blank_count:
        table = table.filter(pc.invert(blank))
    return FileTable(
        table=table,
        headers=headers,
        encoding=grid.encoding,
        sheet=grid.sheet,
        header=spec,
        dropped_footer=dropped,
        blank_rows=blank_count,
    )


def _blank_mask(table: pa.Table, headers: list[str]) -> pa.Array:
    mask = pa.array([True] * table.num_rows, pa.bool_())
    for h in headers:
        mask = pc.and_(mask, pc.is_null(table[h]))
    return mask
