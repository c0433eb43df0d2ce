"""Read a filled template back: its signed prefill, its header and its rows as text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub.form.consolidated import ConsolidatedForm
from hub.form.prefill import NOT_A_TEMPLATE, PREFILL_SHEET, Prefill, PrefillError, read_prefill
from hub.form.template import DATA_SHEET, HEADER_ROW
from hub.ingest.grid import Grid, read_xlsx_grid
from hub.registry.formsource import PERSON_REF


@dataclass
class FilledTemplate:
    prefill: Prefill
    headers: dict[str, int]  # header -> column index
    rows: list[tuple[int, list[str | None]]]  # (row number in the file, cells)


def read_template(path: Path, secret: str, form: ConsolidatedForm) -> FilledTemplate:
    """The template at `path`, verified; PrefillError if it is not a genuine template of
    this hub, ValueError if it cannot be read or lacks a column."""
    if path.stat().st_size == 0:
        raise ValueError("文件是空的：请上传填好的模板")
    try:
        import fastexcel

        names = fastexcel.read_excel(str(path)).sheet_names
        if PREFILL_SHEET not in names:
            raise PrefillError(NOT_A_TEMPLATE)
        if DATA_SHEET not in names:
            raise PrefillError(f"模板中找不到工作表「{DATA_SHEET}」：请不要给工作表改名")
        data = read_xlsx_grid(path, DATA_SHEET)
        hidden = read_xlsx_grid(path, PREFILL_SHEET)
    except PrefillError:
        raise
    except Exception:  # a damaged or non-Excel file: the reader's own error is English
        raise ValueError(
            "无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式，请确认上传的是本系统下载的模板"
        ) from None
    prefill = read_prefill(_all_rows(hidden), secret)
    rows = _all_rows(data)
    labels = {f.label for f in form.fields} | {PERSON_REF}
    scores = [len(labels.intersection(c for c in r if c)) for r in rows[: HEADER_ROW + 5]]
    if not scores or max(scores) == 0:
        raise ValueError(f"「{DATA_SHEET}」工作表找不到表头（应在第 {HEADER_ROW + 1} 行）")
    header_at = scores.index(max(scores))
    headers: dict[str, int] = {}
    for j, h in enumerate(rows[header_at]):
        if h and h in headers:
            raise ValueError(
                f"模板中有两列都叫「{h}」（第 {headers[h] + 1} 列和第 {j + 1} 列）：请不要添加或复制列"
            )
        if h:
            headers[str(h)] = j
    missing = [f.label for f in form.fields if f.label not in headers]
    missing += [PERSON_REF] if PERSON_REF not in headers else []
    if missing:
        raise ValueError(f"模板缺少列：{'、'.join(missing)}（请不要删除或改名列）")
    numbers = data.row_numbers.to_pylist()
    body = [(numbers[i], r) for i, r in enumerate(rows) if i > header_at and any(r)]
    return FilledTemplate(prefill, headers, body)


def has_prefill(path: Path) -> bool:
    """Whether an .xlsx carries a template's prefill sheet (cheap: sheet names only)."""
    try:
        import fastexcel

        return PREFILL_SHEET in fastexcel.read_excel(str(path)).sheet_names
    except Exception:  # not a readable workbook: not a template either
        return False


def _all_rows(grid: Grid) -> list[list[str | None]]:
    return grid.head(grid.height)
