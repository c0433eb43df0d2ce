"""CSV cells that are safe to open in a spreadsheet: a value starting like a formula
(= + - @, tab, carriage return) gets a leading apostrophe, as OWASP recommends against CSV
injection, so `=HYPERLINK(…)` in a resident's address is shown, never run. Plain numbers
(-12.5) are left alone."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")
_RISKY = r"^[=+\-@\t\r]"
_NUMBER_RE = r"^[-+]?\d+(\.\d+)?$"


def safe_cell(value: Any) -> str:
    """One value as CSV text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text.startswith(_PREFIXES) and not _NUMBER.match(text):
        return "'" + text
    return text


def safe_table(table: pa.Table) -> pa.Table:
    """Every text column of `table` defused the same way (vectorised)."""
    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.and_(
                pc.match_substring_regex(col, _RISKY),
                pc.invert(pc.match_substring_regex(col, _NUMBER_RE)),
            )
            col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    return pa.table(columns, names=table.column_names)
