"""A file as a grid of text cells with the file's own row numbers, before any header logic."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc


@dataclass
class Grid:
    """Columns of text (None for empty), `row_numbers[i]` the 1-based row in the file."""

    columns: list[pa.Array | pa.ChunkedArray]
    row_numbers: pa.Array
    encoding: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)  # how the reader chose what it read

    @property
    def height(self) -> int:
        return len(self.row_numbers)

    def head(self, n: int) -> list[list[str | None]]:
        cols = [c.slice(0, n).to_pylist() for c in self.columns]
        return [list(r) for r in zip(*cols, strict=True)] if cols else []

    def row(self, i: int) -> list[str | None]:
        return [c[i].as_py() for c in self.columns]


def sheet_names(path: Path) -> list[str]:
    import fastexcel

    return list(fastexcel.read_excel(str(path)).sheet_names)


def read_xlsx_grid(path: Path, sheet: str | int | None) -> Grid:
    import fastexcel  # the fast Rust reader; openpyxl is 10x slower on large sheets

    reader = fastexcel.read_excel(str(path))
    names = reader.sheet_names
    if sheet is None:
        target: str | int = 0
    elif isinstance(sheet, int) or sheet in names:
        target = sheet
    else:
        raise ValueError(f"文件 {path.name} 中没有工作表「{sheet}」（现有：{'、'.join(names)}）")
    loaded = reader.load_sheet(target, header_row=None, dtypes="string")
    batch = loaded.to_arrow()
    notes = []
    if sheet is None and _empty(batch):  # data on another sheet (a cover sheet first, say)
        for other in names[1:]:
            candidate = reader.load_sheet(other, header_row=None, dtypes="string").to_arrow()
            if not _empty(candidate):
                notes.append(f"第一个工作表「{names[0]}」是空的，已读取工作表「{other}」")
                target, batch = other, candidate
                break
    name = names[target] if isinstance(target, int) else target
    first_row = _first_used_row(path, names.index(name))
    n = batch.num_rows
    numbers = pa.array(range(first_row, first_row + n), pa.int32())
    columns = [blank_to_null(c) for c in batch.columns]
    return Grid(columns=columns, row_numbers=numbers, sheet=name, notes=notes)


def _empty(batch: pa.RecordBatch | pa.Table) -> bool:
    return batch.num_rows == 0 or all(c.null_count == len(c) for c in batch.columns)


def blank_to_null(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Whitespace-only cells are empty; other values stay exactly as written."""
    return pc.if_else(pc.equal(pc.utf8_trim_whitespace(arr), ""), None, arr)


_DIM = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+(\d+)')


def _first_used_row(path: Path, sheet_index: int) -> int:
    """The sheet's first used row: the reader starts there, but users count from row 1."""
    try:
        with zipfile.ZipFile(path) as zf:
            rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
            wb = zf.read("xl/workbook.xml").decode("utf-8")
            rid = re.findall(r'<(?:\w+:)?sheet\b[^>]*?r:id="([^"]+)"', wb)[sheet_index]
            target = re.search(rf'Id="{re.escape(rid)}"[^>]*Target="([^"]+)"', rels) or re.search(
                rf'Target="([^"]+)"[^>]*Id="{re.escape(rid)}"', rels
            )
            if not target:
                return 1
            name = target.group(1).lstrip("/")
            name = name if name.startswith("xl/") else f"xl/{name}"
            with zf.open(name) as fh:
                m = _DIM.search(fh.read(4096))
            return int(m.group(1)) if m else 1
    except (KeyError, IndexError, zipfile.BadZipFile):
        return 1
