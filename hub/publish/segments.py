"""Person datasets published as a base and deltas: a month rewrites only the persons it touched.

A version of such a dataset is a folder of segments and an index:

    seg-00001.parquet   every row, when the dataset was last written whole
    seg-00004.parquet   the rows of the persons a later run touched (a delta)
    live.parquet        person_id -> the segment (gen) holding that person's rows now,
                        with the person's row count and an order-free hash of the rows
    manifest.json       the segments, the dataset's rows and content fingerprint

A person's rows are the rows of the segment the index names; earlier segments may still hold
older rows of that person, which readers skip (`reader_sql`). Segments are immutable, so a new
version links the previous version's files instead of copying them. When the deltas hold too
many superseded rows (or there are too many segments) the dataset is written whole again.

What changed since the last release is kept in the warehouse until a release holds it
(hub.core.changes), so a run that did not publish, or died publishing, leaves its changes to
the next. A delta is written only on top of the version this warehouse itself published last
(`remember`): after a rollback or a rebuild the dataset is written whole.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from hub.core.changes import unpublished
from hub.publish.versions import new_version, read_manifest, seal
from hub.warehouse import lit, one, table_exists

LAYOUT = "segments"
MAX_SEGMENTS = 12
MAX_GROWTH = 1.5  # rows in all segments / live rows, beyond which the dataset is rewritten
_LIVE = "live.parquet"
# a person's rows hashed order-free into 64 bits, so the index stores it exactly
_PERSON_HASH = "(sum(hash(t)::HUGEINT) % 18446744073709551616)::UBIGINT"
_VERSIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS core._published_versions (dataset VARCHAR, version VARCHAR)"
)


def segment_name(gen: int) -> str:
    return f"seg-{gen:05d}.parquet"


def remember(con: duckdb.DuckDBPyConnection, versions: dict[str, str]) -> None:
    """The versions a release of this warehouse now holds: the base of the next deltas."""
    con.execute(_VERSIONS_DDL)
    con.execute("DELETE FROM core._published_versions")
    con.executemany("INSERT INTO core._published_versions VALUES (?, ?)", list(versions.items()))


def _remembered(con: duckdb.DuckDBPyConnection, dataset: str) -> str | None:
    if not table_exists(con, "core", "_published_versions"):
        return None
    rows = con.execute(
        "SELECT version FROM core._published_versions WHERE dataset = ?", [dataset]
    ).fetchall()
    return str(rows[0][0]) if rows else None


RowsOf = Callable[[str], str]  # SQL of persons -> SQL of their rows


@dataclass
class _Target:
    """One dataset being published: where, from what, and on top of which version."""

    con: duckdb.DuckDBPyConnection
    folder: Path
    table: str
    order: str
    shape: str
    prev: dict[str, Any]  # the manifest of `previous` ({} if none)
    previous: str | None
    rows_of: RowsOf | None = None


def write(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    table: str,
    order: str,
    previous: str | None,
    rows_of: RowsOf | None = None,
) -> str:
    """Publish `table` into `folder` as a delta on `previous` where that is possible, else
    whole; returns the version (`previous` itself if the content is unchanged). `rows_of`
    gives the SQL of some persons' rows of `table` (from the SQL of their ids) where a
    filter on the whole would not reach inside it (a view that unnests)."""
    shape = str(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    prev = read_manifest(folder / previous) if previous else {}
    t = _Target(con, folder, table, order, shape, prev, previous, rows_of)
    persons = None
    if (
        previous
        and prev.get("layout") == LAYOUT
        and prev.get("shape") == shape
        and _remembered(con, folder.name) == previous
    ):
        persons = unpublished(con)
    return _whole(t) if persons is None else _delta(t, persons)


def _whole(t: _Target) -> str:
    return _build(t, _next_gen(t.prev), [], None, None)


def _delta(t: _Target, persons: str) -> str:
    con, previous = t.con, str(t.previous)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _seg_touched AS {persons}")
    if not one(con, "SELECT count(*) FROM _seg_touched")[0]:
        return previous
    gen = _next_gen(t.prev)
    old_live = lit(str(t.folder / previous / _LIVE))
    touched = "SELECT person_id FROM _seg_touched"
    of = (
        t.rows_of(touched)
        if t.rows_of
        else f"SELECT * FROM {t.table} WHERE person_id IN ({touched})"
    )
    # the touched persons' rows go straight to the candidate segment and are hashed off it
    # (held in a table first, a month's millions of provenance rows cost more than the write)
    with _scratch(t.folder) as scratch:
        segment = scratch / segment_name(gen)
        write_parquet(con, of, t.order, segment)
        _index(t, gen, segment, of, "_seg_new")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _seg_prev AS SELECT * FROM read_parquet({old_live})"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _seg_old AS SELECT person_id, n, h FROM _seg_prev "
            "WHERE person_id IN (SELECT person_id FROM _seg_touched)"
        )
        differ = one(
            con,
            "SELECT count(*) FROM _seg_old o FULL JOIN _seg_new w USING (person_id) "
            "WHERE o.h IS DISTINCT FROM w.h OR o.n IS DISTINCT FROM w.n",
        )[0]
        if not differ:
            return previous
        old_n, old_h = _totals(con, "_seg_old")
        new_n, new_h = _totals(con, "_seg_new")
        counted = (int(t.prev["rows"]) - old_n + new_n, int(t.prev["total"]) - old_h + new_h)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _seg_live AS "
            "SELECT person_id, gen, n, h FROM _seg_prev WHERE person_id NOT IN (SELECT person_id FROM _seg_touched) "
            "UNION ALL SELECT person_id, gen, n, h FROM _seg_new"
        )
        live = {g for (g,) in con.execute("SELECT DISTINCT gen FROM _seg_live").fetchall()}
        kept = [s for s in t.prev["segments"] if s["gen"] in live]
        stored = sum(int(s["rows"]) for s in kept) + new_n
        if len(kept) + 1 > MAX_SEGMENTS or stored > MAX_GROWTH * max(counted[0], 1):
            return _whole(t)
        return _build(t, gen, kept, segment, counted)


@contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    """A `.tmp-` folder under `folder`, removed afterwards whatever happens."""
    with new_version(folder) as tmp:
        try:
            yield tmp
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def write_parquet(con: duckdb.DuckDBPyConnection, sql: str, order: str, path: Path) -> None:
    """Publish the rows of `sql` (in `order`, if given) as the Parquet file `path`."""
    by = f" ORDER BY {order}" if order else ""
    # dictionaries only for the few-valued columns (field, source, codes): building one
    # for thousands of distinct ids or values per row group costs a fifth of the write
    # and saves nothing zstd does not (provenance 23.1 MB, against 24.4 with them all)
    con.execute(
        f"COPY (SELECT * FROM ({sql}){by}) TO {lit(str(path))} (FORMAT parquet, "
        "COMPRESSION zstd, ROW_GROUP_SIZE 122880, DICTIONARY_SIZE_LIMIT 256)"
    )


def _build(
    t: _Target,
    gen: int,
    kept: list[dict[str, Any]],
    written: Path | None,
    counted: tuple[int, int] | None,
) -> str:
    """A new version: the previous version's segments `kept`, segment `gen` (the file
    `written`, else the whole table written now), and the index `_seg_live` with the
    dataset's (rows, total) `counted` — or, when the dataset is written whole (`counted`
    None), the index read off the segment just written (a view that unnests would otherwise
    be computed twice). `previous` if that is the same content."""
    con = t.con
    with new_version(t.folder) as tmp:
        name = segment_name(gen)
        whole = f"SELECT * FROM {t.table}"
        if written is None:
            write_parquet(con, whole, t.order, tmp / name)
        else:
            os.replace(written, tmp / name)
        if counted is None:
            _index(t, gen, tmp / name, whole, "_seg_live")
            counted = _totals(con, "_seg_live")
        rows, total = counted
        fingerprint = _fingerprint(t.table, t.shape, rows, total)
        if t.previous and t.prev.get("fingerprint") == fingerprint:
            shutil.rmtree(tmp, ignore_errors=True)
            return t.previous
        live_by_gen = dict(con.execute("SELECT gen, sum(n) FROM _seg_live GROUP BY gen").fetchall())
        segments = []
        for s in kept:
            _link(t.folder / str(t.previous) / s["file"], tmp / s["file"])
            segments.append({**s, "all_live": live_by_gen[s["gen"]] == s["rows"]})
        segments.append(
            {"file": name, "gen": gen, "rows": int(live_by_gen.get(gen, 0)), "all_live": True}
        )
        con.execute(
            f"COPY (SELECT * FROM _seg_live ORDER BY person_id) TO {lit(str(tmp / _LIVE))} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        manifest = {
            "table": t.table,
            "layout": LAYOUT,
            "rows": rows,
            "total": str(total),
            "fingerprint": fingerprint,
            "shape": t.shape,
            "segments": segments,
        }
        return seal(tmp, t.folder, manifest)


def _index(t: _Target, gen: int, segment: Path, rows: str, into: str) -> None:
    """The temp table `into` (person_id, gen, n, h) of the rows written into `segment`:
    hashed off the file where its columns read back as the same types (the hashes of every
    version must agree), else off `rows` (SQL of the same rows)."""
    written = f"read_parquet({lit(str(segment))})"
    shape = str(
        t.con.execute(f"SELECT column_name, column_type FROM (DESCRIBE FROM {written})").fetchall()
    )
    source = written if shape == t.shape else f"({rows})"
    t.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT person_id, {gen} AS gen, "
        f"count(*) AS n, {_PERSON_HASH} AS h FROM {source} t GROUP BY person_id"
    )


def reader_sql(folder: Path, manifest: dict[str, Any]) -> str:
    """A SELECT of the dataset's current rows: each segment's rows of the persons whose rows
    live in it (a segment whose rows all live is read as it is)."""
    parts = []
    live = lit(str(folder / _LIVE))
    for s in manifest["segments"]:
        path = lit(str(folder / s["file"]))
        where = (
            ""
            if s["all_live"]
            else f" WHERE person_id IN (SELECT person_id FROM read_parquet({live}) "
            f"WHERE gen = {int(s['gen'])})"
        )
        parts.append(f"SELECT * FROM read_parquet({path}){where}")
    return " UNION ALL ".join(parts)


def files(folder: Path, manifest: dict[str, Any]) -> list[Path]:
    return [folder / s["file"] for s in manifest["segments"]]


def _next_gen(prev: dict[str, Any]) -> int:
    return max((int(s["gen"]) for s in prev.get("segments", [])), default=0) + 1


def _totals(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    n, h = one(
        con, f"SELECT coalesce(sum(n), 0), coalesce(sum(h::HUGEINT), 0)::VARCHAR FROM {table}"
    )
    return int(n), int(h)


def _fingerprint(table: str, shape: str, rows: int, total: int) -> str:
    return hashlib.sha256(f"{table}:{shape}:{rows}:{total}:{LAYOUT}".encode()).hexdigest()


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a filesystem without hard links
        shutil.copy2(src, dst)
