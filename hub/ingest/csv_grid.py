"""A CSV export as a grid of text cells, read by pyarrow with the file's own row numbers.

Department CSVs are mostly a rectangle of data with a few ragged rows: a one-cell title on
top, 合计 / 填表人 footers with fewer cells, now and then a data row with a stray extra
cell. pyarrow parses the rectangle (seven times faster than the `csv` module on a 40 MB
roster); the ragged rows, which it hands to a callback with their record numbers, are parsed
with `csv` and put back in place, so no row and no cell is lost.

A row number is the record's position in the file (1-based), which is the row a department
sees when it opens the CSV in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from hub.ingest.encoding import decode
from hub.ingest.grid import Grid, blank_to_null

HEAD_CHARS = 20_000
HEAD_ROWS = 30
# pyarrow's read block: an over-long cell is read, then refused by its length with its row
BLOCK_BYTES = 16 * 1024 * 1024


def read_csv_grid(path: Path, data: bytes, declared_encoding: str = "auto") -> Grid:
    text, enc = decode(path, data, declared_encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    head = text[:HEAD_CHARS]
    delim = "\t" if head.count("\t") > head.count(",") else ","
    width = _usual_width(head, delim)
    names = [f"c{i}" for i in range(width)]
    body = text.encode("utf-8")
    # only a one-thread read numbers the ragged rows it hands back; threads share a file by
    # blocks, so a file of one block is read by one thread either way (and read only once)
    threads = len(body) > BLOCK_BYTES
    table, ragged = _parse(body, names, delim, threads=threads)
    if ragged and threads:
        table, ragged = _parse(body, names, delim, threads=False)
    columns, numbers = _merge_ragged(table, ragged, delim)
    return Grid(
        columns=[blank_to_null(c) for c in columns],
        row_numbers=pa.array(numbers, pa.int32()),
        encoding=enc,
    )


def _parse(
    body: bytes, names: list[str], delim: str, threads: bool
) -> tuple[pa.Table, list[tuple[int, str]]]:
    ragged: list[tuple[int, str]] = []

    def keep_ragged(row: pacsv.InvalidRow) -> str:
        ragged.append((row.number, row.text))
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=threads, block_size=BLOCK_BYTES
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delim,
            newlines_in_values=True,
            ignore_empty_lines=False,  # blank lines count, so row numbers stay true
            invalid_row_handler=keep_ragged,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table, ragged


def _usual_width(head: str, delim: str) -> int:
    """The commonest cell count of the first rows (ties go wide): a title row padded with
    delimiters or a short footer must not set the width of the data."""
    rows = [r for r in csv.reader(io.StringIO(head, newline=""), delimiter=delim) if r]
    counts = Counter(len(r) for r in rows[:HEAD_ROWS])
    if not counts:
        return 1
    return max(counts, key=lambda n: (counts[n], n))


def _merge_ragged(
    table: pa.Table, ragged: list[tuple[int, str]], delim: str
) -> tuple[list[pa.ChunkedArray], np.ndarray]:
    """Columns of all records in file order, widened for the widest ragged row."""
    n_regular = table.num_rows
    columns = list(table.columns)
    if not ragged:
        return columns, np.arange(1, n_regular + 1, dtype=np.int32)
    cells = [_parse_row(text, delim) for _, text in ragged]
    width = max(len(columns), *(len(c) for c in cells))
    while len(columns) < width:
        columns.append(pa.chunked_array([pa.nulls(n_regular, pa.string())]))
    extra = [
        pa.array([c[i] if i < len(c) else None for c in cells], pa.string()) for i in range(width)
    ]
    ragged_numbers = np.array([n for n, _ in ragged], dtype=np.int64)
    total = n_regular + len(ragged)
    regular_numbers = np.setdiff1d(np.arange(1, total + 1), ragged_numbers, assume_unique=True)
    numbers = np.concatenate([regular_numbers, ragged_numbers])
    order = pa.array(np.argsort(numbers, kind="stable"))
    merged = [
        pa.chunked_array([*col.chunks, ext], pa.string()).take(order)
        for col, ext in zip(columns, extra, strict=True)
    ]
    return merged, np.sort(numbers).astype(np.int32)


def _parse_row(text: str, delim: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
    return rows[0] if rows else []
