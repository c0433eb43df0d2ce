"""What a spreadsheet file really is, whatever its name says, and readers for the two formats
department systems save under an `.xls` name that no spreadsheet library opens: an HTML table
(「导出 Excel」 of many web systems) and SpreadsheetML 2003 XML."""

from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import pyarrow as pa

from hub.ingest.encoding import decode
from hub.ingest.grid import Grid, blank_to_null

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (BIFF8) and other Office binaries
NAMES = {
    "xlsx": "Excel 工作簿（.xlsx）",
    "xlsb": "Excel 二进制工作簿（.xlsb）",
    "xls": "Excel 97-2003 工作簿（.xls）",
    "ods": "OpenDocument 表格（.ods）",
    "html": "网页表格（HTML）",
    "spreadsheetml": "Excel 2003 XML 表格（SpreadsheetML）",
    "text": "文本（CSV）",
    "docx": "Word 文档（.docx）中的表格",
}
_SS = "urn:schemas-microsoft-com:office:spreadsheet"


def sniff(path: Path) -> str:
    """xlsx / xlsb / xls / ods / html / spreadsheetml / text, from the file's first bytes."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(OLE2):
        return "xls"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "mimetype" in names and b"opendocument.spreadsheet" in zf.read("mimetype"):
                    return "ods"
        except zipfile.BadZipFile:  # damaged: the reader of what its name says explains it
            return "docx" if path.suffix.lower() == ".docx" else "xlsx"
        if "word/document.xml" in names:
            return "docx"
        return "xlsb" if "xl/workbook.bin" in names else "xlsx"
    text = _head_text(head).lstrip("\ufeff \t\r\n").lower()
    if text.startswith("<"):
        if _SS in text or "<ss:workbook" in text or ("<workbook" in text and "<?xml" in text):
            return "spreadsheetml"
        if re.search(r"<(!doctype html|html|table|meta|head|body)\b", text):
            return "html"
    return "text"


def read_markup_grid(path: Path, kind: str, data: bytes) -> Grid:
    """The first table of an HTML export, or the first worksheet with rows of a SpreadsheetML
    file, as a grid numbered from row 1 like a sheet."""
    if kind == "html":
        text, encoding = decode(path, data, "auto")
        rows = _html_rows(text)
        sheet = None
    elif kind == "docx":
        rows, sheet, encoding = _docx_rows(data), None, None
    else:
        rows, sheet = _spreadsheetml_rows(data)
        encoding = None
    width = max((len(r) for r in rows), default=0)
    cols = [[r[i] if i < len(r) else None for r in rows] for i in range(width)]
    return Grid(
        columns=[blank_to_null(pa.array(c, pa.string())) for c in cols],
        row_numbers=pa.array(range(1, len(rows) + 1), pa.int32()),
        encoding=encoding,
        sheet=sheet,
        notes=[] if kind == "docx" else [f"文件实为{NAMES[kind]}，已按该格式读取"],
    )


def _head_text(head: bytes) -> str:
    for enc in ("utf-8", "gb18030", "utf-16"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


class _Tables(HTMLParser):
    """Rows of the first <table>, with colspan / rowspan laid out as merged cells are in a
    sheet: the value in the first cell, the cells it covers empty."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str | None]] = []
        self.depth = 0
        self.done = False
        self.cell: list[str] | None = None
        self.span = (1, 1)  # the open cell's colspan, rowspan
        self.down: dict[int, int] = {}  # column -> rows below that a rowspan still covers

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "table":
            self.depth += 1
        elif tag == "tr" and self.depth == 1:
            self.rows.append([])
        elif tag in ("td", "th") and self.depth == 1 and self.rows:
            self._covered()
            a = dict(attrs)
            self.cell, self.span = [], (_int(a.get("colspan")), _int(a.get("rowspan")))
        elif tag == "br" and self.cell is not None:
            self.cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag in ("td", "th") and self.cell is not None and self.rows:
            row, (cols, down) = self.rows[-1], self.span
            start = len(row)
            row.append("".join(self.cell).strip() or None)
            row.extend([None] * (cols - 1))
            for c in range(start, start + cols):
                if down > 1:
                    self.down[c] = down - 1
            self.cell = None
        elif tag == "tr" and self.depth == 1 and self.rows:
            self._covered()
        elif tag == "table":
            self.depth -= 1
            self.done = self.depth == 0 and bool(self.rows)

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def _covered(self) -> None:
        row = self.rows[-1]
        while self.down.get(len(row), 0) > 0:
            self.down[len(row)] -= 1
            row.append(None)


def _html_rows(text: str) -> list[list[str | None]]:
    parser = _Tables()
    parser.feed(text)
    parser.close()
    return parser.rows


def _int(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def _spreadsheetml_rows(data: bytes) -> tuple[list[list[str | None]], str | None]:
    root = ET.fromstring(data)  # noqa: S314 - stdlib expat refuses entity expansion bombs
    ns = {"ss": _SS}
    for ws in root.iter(f"{{{_SS}}}Worksheet"):
        rows: list[list[str | None]] = []
        for row in ws.iterfind("ss:Table/ss:Row", ns):
            at = _int(row.get(f"{{{_SS}}}Index")) if row.get(f"{{{_SS}}}Index") else len(rows) + 1
            rows.extend([] for _ in range(at - 1 - len(rows)))
            cells: list[str | None] = []
            for cell in row.iterfind("ss:Cell", ns):
                if cell.get(f"{{{_SS}}}Index"):
                    cells.extend([None] * (_int(cell.get(f"{{{_SS}}}Index")) - 1 - len(cells)))
                d = cell.find("ss:Data", ns)
                cells.append("".join(d.itertext()).strip() or None if d is not None else None)
                cells.extend([None] * _int_zero(cell.get(f"{{{_SS}}}MergeAcross")))
            rows.append(cells)
        if any(any(c is not None for c in r) for r in rows):
            return rows, ws.get(f"{{{_SS}}}Name")
    return [], None


def _int_zero(value: str | None) -> int:
    return _int(value) if value else 0


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOCX_XML_MB = 64  # a draft template's document part; more is not a table of headers


def _docx_rows(data: bytes) -> list[list[str | None]]:
    """Rows of the first table of a Word document (a department's draft template), merged
    cells laid out as in a sheet: the text in the first cell, the cells it covers empty."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo("word/document.xml")
            if info.file_size > DOCX_XML_MB * 2**20:
                raise ValueError(f"文档正文解压后有 {info.file_size // 2**20} MB，不像一张表格模板")
            root = ET.fromstring(zf.read(info))  # noqa: S314 - expat refuses entity bombs
    except (zipfile.BadZipFile, KeyError):
        raise ValueError(
            "Word 文档不完整或已损坏（无法解压）：请重新保存为 .docx 后再提交"
        ) from None
    body = root.find(f"{{{_W}}}body")
    table = next(root.iter(f"{{{_W}}}tbl"), None)
    if body is None or table is None:
        raise ValueError("Word 文档中没有表格：请把报表模板做成表格（插入 → 表格）")
    rows: list[list[str | None]] = []
    # the title is a paragraph above the table: a row of its own, as a sheet's title row
    for el in body:
        if el.tag == f"{{{_W}}}tbl":
            break
        if el.tag == f"{{{_W}}}p" and (
            text := "".join(t.text or "" for t in el.iter(f"{{{_W}}}t")).strip()
        ):
            rows = [[text]]
    for tr in table.iterfind(f"{{{_W}}}tr"):
        cells: list[str | None] = []
        for tc in tr.iterfind(f"{{{_W}}}tc"):
            props = tc.find(f"{{{_W}}}tcPr")
            span = props.find(f"{{{_W}}}gridSpan") if props is not None else None
            merged = props.find(f"{{{_W}}}vMerge") if props is not None else None
            # a cell continuing a vertical merge holds nothing of its own
            continues = merged is not None and merged.get(f"{{{_W}}}val") != "restart"
            text = "\n".join(
                "".join(t.text or "" for t in p.iter(f"{{{_W}}}t"))
                for p in tc.iterfind(f"{{{_W}}}p")
            ).strip()
            cells.append(None if continues or not text else text)
            width = _int(span.get(f"{{{_W}}}val")) if span is not None else 1
            cells.extend([None] * (width - 1))
        rows.append(cells)
    return rows
