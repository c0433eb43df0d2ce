"""Keep `core.observed` in step with staging and linkage, and say whose record changed.

A run replaces only the rows that changed: rows of new batches, rows gone (a rejected or
superseded batch), rows whose person changed (a merge, a split), and every row of a source
staged anew (its registry changed). The persons of those rows, and persons whose links
changed how they were made, are `touched`: survivorship and publishing redo them alone.
The core is rebuilt whole the first time and when what survivorship reads of the registry
(fields, authority, sources) changes.
"""

from __future__ import annotations

import hashlib
import json

import duckdb

from hub.core.observations import ROWS, ROWS_LAYOUT, observed_fields, rows_sql
from hub.link.features import record_key
from hub.registry.loader import Registry
from hub.warehouse import one, table_exists, temp_exists

TOUCHED = "hub_touched"  # temp table (person_id): persons to recompute; absent = everyone
# persons changed since the last release ('*': everyone); publishing clears it
UNPUBLISHED = "core._unpublished"
STATE_DDL = """
CREATE TABLE IF NOT EXISTS core._core_state (key VARCHAR);
CREATE TABLE IF NOT EXISTS core._core_sources (source VARCHAR, stage_key VARCHAR);
CREATE TABLE IF NOT EXISTS core._unpublished (person_id VARCHAR);
CREATE TABLE IF NOT EXISTS core._links_redone (record_key VARCHAR);
"""
# record keys of the rows whose core.links row linkage rewrote since core last read them
# ('*': all of core.links was rebuilt); only these rows can differ from core.observed
LINKS_REDONE = "core._links_redone"
_KEYS = "source, batch_id, source_row, person_id"


def core_key(registry: Registry) -> str:
    fields = [(f.name, f.sql_type, f.authority) for f in observed_fields(registry)]
    sources = {
        s.name: [s.department, s.entity, s.asserts, [c.field for c in s.mapped]]
        for s in registry.sources.values()
    }
    text = json.dumps([ROWS_LAYOUT, fields, sources], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_observed(
    con: duckdb.DuckDBPyConnection, registry: Registry, force: bool = False
) -> bool:
    """Bring core.observed up to date; returns True when it was rebuilt whole (then every
    person is touched and no `hub_touched` table is made), as it is when `force`."""
    con.execute(STATE_DDL)
    key = core_key(registry)
    held = con.execute("SELECT key FROM core._core_state").fetchall()
    whole = (
        force
        or held != [(key,)]
        or not table_exists(con, "core", "observed")
        or not table_exists(con, "core", "person")
    )
    if whole:
        con.execute(
            f"CREATE OR REPLACE TABLE {ROWS} AS SELECT * FROM ({rows_sql(con, registry)}) "
            "ORDER BY _bucket"
        )
        con.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
        con.execute(f"INSERT INTO {UNPUBLISHED} VALUES ('*')")
    else:
        _replace_changed(con, registry)
        con.execute(f"INSERT INTO {UNPUBLISHED} SELECT person_id FROM {TOUCHED}")
    con.execute(f"DELETE FROM {LINKS_REDONE}")
    con.execute("DELETE FROM core._core_state")
    con.execute("INSERT INTO core._core_state VALUES (?)", [key])
    con.execute("DELETE FROM core._core_sources")
    if table_exists(con, "staged", "_stage_state"):
        con.execute("INSERT INTO core._core_sources SELECT source, key FROM staged._stage_state")
    return whole


def _replace_changed(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    restaged = [
        r[0]
        for r in con.execute(
            "SELECT s.source FROM staged._stage_state s LEFT JOIN core._core_sources c "
            "USING (source) WHERE c.stage_key IS DISTINCT FROM s.key"
        ).fetchall()
    ]
    links, rows, persons = "core.links", ROWS, None
    if not one(con, f"SELECT count(*) FROM {LINKS_REDONE} WHERE record_key = '*'")[0]:
        # only the rows linkage rewrote (and those of sources staged anew) can differ
        redone = f"IN (SELECT record_key FROM {LINKS_REDONE})"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _k_links AS SELECT {_KEYS} FROM core.links "
            f"WHERE list_contains(?, source) OR record_key {redone}",
            [restaged],
        )
        key = record_key("source", "batch_id", "source_row")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _k_rows AS SELECT {_KEYS} FROM {ROWS} "
            f"WHERE list_contains(?, source) OR {key} {redone}",
            [restaged],
        )
        links, rows, persons = "_k_links", "_k_rows", "SELECT person_id FROM _k_links"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _gone AS SELECT {_KEYS} FROM {rows} o "
        f"WHERE list_contains(?, source) OR NOT EXISTS (SELECT 1 FROM {links} l "
        "WHERE l.source = o.source AND l.batch_id = o.batch_id AND l.source_row = o.source_row "
        "AND l.person_id = o.person_id)",
        [restaged],
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _came AS SELECT {_KEYS} FROM {links} l "
        f"WHERE list_contains(?, source) OR NOT EXISTS (SELECT 1 FROM {rows} o "
        "WHERE l.source = o.source AND l.batch_id = o.batch_id AND l.source_row = o.source_row "
        "AND l.person_id = o.person_id)",
        [restaged],
    )
    con.execute(
        f"DELETE FROM {ROWS} o USING _gone g WHERE o.source = g.source AND o.batch_id = g.batch_id "
        "AND o.source_row = g.source_row"
    )
    con.execute(f"INSERT INTO {ROWS} {rows_sql(con, registry, 'SELECT * FROM _came')}")
    # persons whose rows changed, and whose links changed how they were made (a person's
    # links change only in rows linkage rewrote)
    mine = f" WHERE person_id IN ({persons})" if persons else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TOUCHED} AS SELECT person_id FROM _gone UNION "
        "SELECT person_id FROM _came UNION SELECT person_id FROM ("
        f"SELECT person_id, by_id, rows_by_model FROM ({linked_sql(persons)}) EXCEPT "
        f"SELECT person_id, by_id, rows_by_model FROM core.person{mine})"
    )
    con.execute("DROP TABLE IF EXISTS _k_links; DROP TABLE IF EXISTS _k_rows")
    con.execute("DROP TABLE _gone; DROP TABLE _came")


def linked_sql(persons: str | None = None) -> str:
    """Per person (of `persons`, SQL of person ids, if given): linked by a trusted ID at all,
    and how many rows the model linked."""
    mine = f" WHERE person_id IN ({persons})" if persons else ""
    return (
        "SELECT person_id, bool_or(method = 'id') AS by_id, "
        "count(*) FILTER (WHERE method IN ('probabilistic', 'review')) AS rows_by_model "
        f"FROM core.links{mine} GROUP BY person_id"
    )


def links_redone(con: duckdb.DuckDBPyConnection, keys: str | None) -> None:
    """Note that linkage rewrote the core.links rows of `keys` (SQL of record keys), or all
    of core.links (None), for core to read next (`refresh_observed`)."""
    con.execute(STATE_DDL)
    if keys is None:
        con.execute(f"INSERT INTO {LINKS_REDONE} VALUES ('*')")
    else:
        con.execute(f"INSERT INTO {LINKS_REDONE} {keys}")


def unpublished(con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL of the persons changed since the last release, or None if that may be anyone."""
    if not table_exists(con, "core", "_unpublished"):
        return None
    if one(con, f"SELECT count(*) FROM {UNPUBLISHED} WHERE person_id = '*'")[0]:
        return None
    return f"SELECT DISTINCT person_id FROM {UNPUBLISHED}"


def published(con: duckdb.DuckDBPyConnection) -> None:
    """A release now holds every change: nothing is unpublished."""
    if table_exists(con, "core", "_unpublished"):
        con.execute(f"DELETE FROM {UNPUBLISHED}")


def touched_count(con: duckdb.DuckDBPyConnection) -> int | None:
    """Persons this run recomputed, or None when it recomputed everyone."""
    if not temp_exists(con, TOUCHED):
        return None
    return int(one(con, f"SELECT count(*) FROM {TOUCHED}")[0])
