"""Check a file against the limits before reading it, and say in Chinese what is wrong with
a file the readers choke on (their own messages are English and name nothing a department
can act on)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hub.registry.config import Limits

_MB = 1024 * 1024
_DIM = re.compile(rb'<(?:\w+:)?dimension ref="(?:[A-Z]+\d+:)?([A-Z]+)(\d+)"')


class LimitExceeded(ValueError):
    """The file is past a limit; the message says which and by how much."""


def precheck(path: Path, data: bytes | None, limits: Limits, workbook: bool | None = None) -> None:
    """Refuse what must not be read at all: empty, too large, too wide, unpacking too big."""
    size = len(data) if data is not None else path.stat().st_size
    if size == 0 or (data is not None and not data.strip()):
        raise LimitExceeded("文件是空的（没有任何内容）")
    if size > limits.file_mb * _MB:
        raise LimitExceeded(f"文件有 {size / _MB:.0f} MB，超过上限 {limits.file_mb:g} MB")
    if workbook if workbook is not None else path.suffix.lower() in (".xlsx", ".xlsm"):
        _check_workbook(path, limits)
    elif data is not None:
        _check_csv_head(data, limits)


def _check_workbook(path: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            sheets = [i for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
            for info in sheets:
                if info.file_size > limits.sheet_xml_mb * _MB:
                    raise LimitExceeded(
                        f"工作表解压后有 {info.file_size / _MB:.0f} MB，超过上限 "
                        f"{limits.sheet_xml_mb:g} MB（文件虽小，内容过大）"
                    )
                with zf.open(info) as fh:
                    head = fh.read(4096)
                if m := _DIM.search(head):
                    _check_shape(int(m.group(2)), _col_number(m.group(1).decode()), limits)
    except zipfile.BadZipFile:
        raise LimitExceeded("Excel 文件不完整或已损坏（无法解压）：请重新导出后再发送") from None


def _check_csv_head(data: bytes, limits: Limits) -> None:
    head = data[:65536]
    first = head.split(b"\n", 1)[0]
    delim = b"\t" if first.count(b"\t") > first.count(b",") else b","
    if first.count(delim) + 1 > limits.columns:
        raise LimitExceeded(
            f"表头有 {first.count(delim) + 1} 列，超过上限 {limits.columns} 列：不像部门导出的表"
        )
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16 and b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise LimitExceeded(f"第 {line} 行含有空字符（NUL）：文件可能已损坏或不是文本文件")


def _check_shape(rows: int, columns: int, limits: Limits) -> None:
    if columns > limits.columns:
        raise LimitExceeded(f"表有 {columns} 列，超过上限 {limits.columns} 列：不像部门导出的表")
    if rows > limits.rows + 50:  # title and header rows above the data
        raise LimitExceeded(f"表有 {rows} 行，超过上限 {limits.rows} 行")
    if rows * columns > limits.cells:
        raise LimitExceeded(f"表有 {rows * columns} 个单元格，超过上限 {limits.cells} 个")


def check_table(table: pa.Table, headers: list[str], rows: pa.Array, limits: Limits) -> None:
    """After reading: the row count, the cell count, and no cell past its length limit."""
    _check_shape(table.num_rows, len(headers), limits)
    for h in headers:
        lengths = pc.utf8_length(table[h])
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limits.cell_chars:
            i = pc.index(lengths, longest).as_py()
            raise LimitExceeded(
                f"第 {rows[i].as_py()} 行「{h}」列有 {longest} 个字符，超过单元格上限 "
                f"{limits.cell_chars} 个：不像正常的导出，请检查后重新发送"
            )


def explain(exc: Exception) -> str:
    """A reader's failure in words a department can act on."""
    text = str(exc)
    if "Empty CSV" in text:
        return "文件是空的（没有任何内容）"
    if "Zip" in text or "zip" in text or "EOCD" in text:
        return "Excel 文件不完整或已损坏（无法解压）：请重新导出后再发送"
    if "straddl" in text or "block size" in text:
        return "文件中有一个极长的单元格（超过读取块大小）：不像正常的导出，请检查后重新发送"
    if "UTF-16" in text or "codec" in text or "decode" in text:
        return "无法识别文件的编码（不是 UTF-8、GB18030 或 UTF-16）"
    return "无法读取文件内容：文件可能已损坏，或不是 CSV / Excel 格式"


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
