"""Person datasets published in parts: `part-NN.parquet`, one per bucket of person ids.

A month changes few residents, so a release rewrites only the buckets holding a person the
run touched (hub.core.changes); the other parts are the previous version's files, linked
into the new version (files are immutable, so sharing them is safe). Each bucket's content
fingerprint is kept in the manifest, so an unchanged bucket is known without reading it.
What changed since the last release is kept in the warehouse until a release holds it, so
a run that did not publish (or died publishing) leaves its changes to the next.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from hub.core.changes import unpublished
from hub.warehouse import lit

BUCKETS = 32
BUCKET_SQL = f"(hash(person_id) % {BUCKETS})::INTEGER"


def part_name(bucket: int, i: int = 0) -> str:
    return f"part-{bucket:02d}.parquet" if i == 0 else f"part-{bucket:02d}-{i}.parquet"


def touched_buckets(con: duckdb.DuckDBPyConnection) -> list[int] | None:
    """Buckets holding a person changed since the last release; None: all may have."""
    persons = unpublished(con)
    if persons is None:
        return None
    rows = con.execute(f"SELECT DISTINCT {BUCKET_SQL} FROM ({persons}) ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def bucket_fingerprints(
    con: duckdb.DuckDBPyConnection, table: str, buckets: list[int] | None
) -> dict[int, dict[str, Any]]:
    """Rows and an order-free content hash of each non-empty bucket among `buckets`."""
    where = f"WHERE {BUCKET_SQL} IN ({', '.join(map(str, buckets))})" if buckets else ""
    if buckets == []:
        return {}
    rows = con.execute(
        f"SELECT {BUCKET_SQL} AS b, count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR "
        f"FROM {table} t {where} GROUP BY b"
    ).fetchall()
    return {int(b): {"rows": int(n), "fingerprint": str(fp)} for b, n, fp in rows}


def write_parts(
    con: duckdb.DuckDBPyConnection,
    table: str,
    order: str,
    target: Path,
    changed: list[int],
) -> dict[int, list[str]]:
    """Write the buckets `changed` of `table` into `target` in one pass; returns the files of
    each bucket."""
    if not changed:
        return {}
    scratch = target / ".parts"
    con.execute(
        f"COPY (SELECT *, {BUCKET_SQL} AS _bucket FROM {table} WHERE {BUCKET_SQL} IN "
        f"({', '.join(map(str, changed))}) ORDER BY _bucket, {order}) TO {lit(str(scratch))} "
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, PARTITION_BY (_bucket))"
    )
    out: dict[int, list[str]] = {}
    for b in changed:
        files = sorted((scratch / f"_bucket={b}").glob("*.parquet"))
        for i, f in enumerate(files):
            name = part_name(b, i)
            os.replace(f, target / name)
            out.setdefault(b, []).append(name)
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def link_parts(previous: Path, target: Path, files: list[str]) -> None:
    """The previous version's files of unchanged buckets, in the new version too."""
    for name in files:
        try:
            os.link(previous / name, target / name)
        except OSError:  # a filesystem without hard links
            shutil.copy2(previous / name, target / name)


def combined(shape: str, buckets: dict[str, dict[str, Any]]) -> str:
    text = shape + "".join(f"|{b}:{buckets[b]['fingerprint']}" for b in sorted(buckets))
    return hashlib.sha256(text.encode()).hexdigest()


def empty_part(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> str:
    """A file with the dataset's columns and no rows, so readers find its schema."""
    name = "part-empty.parquet"
    con.execute(
        f"COPY (SELECT * FROM {table} WHERE false) TO {lit(str(target / name))} (FORMAT parquet)"
    )
    return name
