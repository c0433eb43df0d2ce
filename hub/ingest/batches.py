"""Bookkeeping of loaded files: the batch table, and when a file's data was true (observed_at)."""

from __future__ import annotations

import duckdb

from hub.warehouse import one

BATCHES_DDL = """
CREATE TABLE IF NOT EXISTS raw._batches (
    batch_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows INTEGER NOT NULL,
    encoding VARCHAR,
    sheet VARCHAR,
    header_row INTEGER,
    header_rows INTEGER,
    headers VARCHAR[],
    footer_rows INTEGER[],
    blank_rows INTEGER,
    unregistered_columns VARCHAR[],
    missing_columns VARCHAR[],
    observed_at DATE NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    archive_path VARCHAR NOT NULL,
    renamed_columns STRUCT(registered VARCHAR, in_file VARCHAR)[],
    notes VARCHAR[]
)
"""
# columns added after the first release: a warehouse made before them gains them on open
_LATER_COLUMNS = {
    "renamed_columns": "STRUCT(registered VARCHAR, in_file VARCHAR)[]",
    "notes": "VARCHAR[]",
    # active (staged) | held (waiting for the data team) | rejected (never staged)
    "status": "VARCHAR",
    "status_reason": "VARCHAR",
    "decided_by": "VARCHAR",
    "decided_at": "TIMESTAMP",
}
REJECTIONS_DDL = """
CREATE TABLE IF NOT EXISTS raw._rejections (
    file_name VARCHAR, sha256 VARCHAR, source VARCHAR, error VARCHAR, rejected_at TIMESTAMP
)
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(BATCHES_DDL)
    con.execute(REJECTIONS_DDL)
    for name, sql_type in _LATER_COLUMNS.items():
        con.execute(f"ALTER TABLE raw._batches ADD COLUMN IF NOT EXISTS {name} {sql_type}")


def renamed_headers(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, list[str]]:
    """Registered header -> the other headers it had in some loaded file of `source`."""
    rows = con.execute(
        "SELECT DISTINCT r.registered, r.in_file FROM (SELECT unnest(renamed_columns) AS r "
        "FROM raw._batches WHERE source = ?) ORDER BY ALL",
        [source],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for registered, in_file in rows:
        out.setdefault(registered, []).append(in_file)
    return out


def batch_id(source: str, sha256: str) -> str:
    """Derived from content, so the same file always gets the same id on any machine."""
    return f"{source}-{sha256[:12]}"


def known(con: duckdb.DuckDBPyConnection, source: str, sha256: str) -> bool:
    return bool(
        one(
            con,
            "SELECT count(*) FROM raw._batches WHERE source = ? AND sha256 = ?",
            [source, sha256],
        )[0]
    )
