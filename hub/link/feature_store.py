"""Linkage features kept between runs, so a run computes them for new batches alone.

- `core.link_features`: one row per current, de-duplicated department row (hub.link.features);
- `core.link_duplicates`: rows equal to an earlier row of their batch (linked as that row);
- `core.link_feature_batches`: which batches they hold, under which key (the source's stage
  key: a source staged anew is featured anew).

A run adds the features of batches new to linkage and drops those of batches no longer
current (rejected, superseded by a newer full roster, re-staged). What crosses batches is
redone for the citizen IDs those rows carry (`link_touched_ids`): whether an ID is borrowed,
and the ID's node. `link_changed_keys` lists every row (duplicates too) that came, went
or was judged otherwise than before (trusted or not): whose node, and link, may have
changed (a row still linked by its ID goes wherever the ID's node goes). A full
rebuild starts without these tables and computes the same rows in one go.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.ingest.holds import current_batches
from hub.link.features import build_features, distrust_borrowed_ids, link_rows_sql
from hub.registry.loader import Registry
from hub.warehouse import one, table_exists

FEATURE_VERSION = "2026-12-features-1"  # bump when features change meaning: all redone
FEATURES, DUPS, BATCHES = "core.link_features", "core.link_duplicates", "core.link_feature_batches"
TOUCHED_IDS, CHANGED_KEYS = "link_touched_ids", "link_changed_keys"
# what judging an ID again (hub.link.features.distrust_borrowed_ids) may change on a row
JUDGED = ("trusted", "birth", "id_doubt")


@dataclass(frozen=True)
class Refresh:
    whole: bool  # built from every current row (the nodes are then built anew too)
    featured: int  # rows whose features this run computed


def refresh_features(con: duckdb.DuckDBPyConnection, registry: Registry) -> Refresh | None:
    """Bring the kept features up to date and point the temp views `link_features` and
    `link_dups` at them; None when there are no rows to link."""
    rows_sql = link_rows_sql(con, registry, "_fb_now") if _current(con, registry) else None
    if rows_sql is None:
        return None
    whole = not all(table_exists(con, *t.split(".")) for t in (FEATURES, DUPS, BATCHES))
    if whole:
        featured = build_features(con, rows_sql, into=FEATURES)
        con.execute(f"CREATE OR REPLACE TABLE {BATCHES} AS SELECT * FROM _fb_now")
        con.execute(f"CREATE OR REPLACE TABLE {DUPS} AS SELECT * FROM link_dups")
        con.execute("DROP TABLE link_dups")
        views(con)
    else:
        _apply_changes(con, registry)
        featured = int(one(con, "SELECT count(*) FROM link_features")[0])
        con.execute("DROP TABLE link_features; DROP TABLE link_dups")
        views(con)
    con.execute("DROP TABLE _fb_now")
    return Refresh(whole, featured)


def views(con: duckdb.DuckDBPyConnection) -> None:
    """The temp views linkage reads: the kept features and duplicates."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW link_features AS SELECT * FROM {FEATURES}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW link_dups AS SELECT * FROM {DUPS}")


def keep(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the temp tables `link_features` and `link_dups` as they are (the linkage bench,
    which builds them from its own records) and read them through the views."""
    con.execute(f"CREATE OR REPLACE TABLE {FEATURES} AS SELECT * FROM link_features")
    con.execute(f"CREATE OR REPLACE TABLE {DUPS} AS SELECT * FROM link_dups")
    con.execute("DROP TABLE link_features; DROP TABLE link_dups")
    views(con)


def _current(con: duckdb.DuckDBPyConnection, registry: Registry) -> int:
    """Temp table `_fb_now(source, batch_id, key)`: the current batches of staged person
    tables; returns how many."""
    current = current_batches(con, registry.sources)
    persons = [
        s.name
        for s in registry.sources.values()
        if s.entity == "person" and table_exists(con, "staged", s.name)
    ]
    state = (
        "staged._stage_state"
        if table_exists(con, "staged", "_stage_state")
        else "(SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS key)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _fb_now AS SELECT c.source, c.batch_id, "
        f"sha256(coalesce(s.key, '') || '{FEATURE_VERSION}') AS key FROM {current} c "
        f"LEFT JOIN {state} s USING (source) WHERE list_contains(?, c.source)",
        [persons],
    )
    return int(one(con, "SELECT count(*) FROM _fb_now")[0])


def _apply_changes(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Drop the features of batches gone, add those of batches new, and judge again what
    crosses batches for the IDs of their rows."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _fb_gone AS SELECT * FROM "
        f"(SELECT source, batch_id, key FROM {BATCHES} EXCEPT SELECT * FROM _fb_now)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _fb_new AS SELECT * FROM "
        f"(SELECT * FROM _fb_now EXCEPT SELECT source, batch_id, key FROM {BATCHES})"
    )
    gone_rows = (
        f"SELECT record_key, id_text FROM {FEATURES} f SEMI JOIN _fb_gone g "
        "ON g.source = f.source AND g.batch_id = f.batch_id"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _gone_rows AS {gone_rows}")
    rows_sql = link_rows_sql(con, registry, "_fb_new")
    if rows_sql and one(con, "SELECT count(*) FROM _fb_new")[0]:
        build_features(con, rows_sql, distrust=False)
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE link_features AS FROM {FEATURES} LIMIT 0")
        con.execute(f"CREATE OR REPLACE TEMP TABLE link_dups AS FROM {DUPS} LIMIT 0")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TOUCHED_IDS} AS SELECT DISTINCT id_text FROM ("
        "SELECT id_text FROM _gone_rows UNION ALL SELECT id_text FROM link_features) "
        "WHERE id_text IS NOT NULL"
    )
    con.execute(  # the duplicates of rows gone are gone with them
        "INSERT INTO _gone_rows SELECT record_key, NULL FROM "
        f"{DUPS} WHERE rep IN (SELECT record_key FROM _gone_rows)"
    )
    con.execute(f"DELETE FROM {DUPS} WHERE rep IN (SELECT record_key FROM _gone_rows)")
    con.execute(f"DELETE FROM {FEATURES} WHERE record_key IN (SELECT record_key FROM _gone_rows)")
    # how the kept rows of those IDs were judged: a row judged alike keeps its node and link
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _judged AS SELECT record_key, {', '.join(JUDGED)} "
        f"FROM {FEATURES} WHERE id_text IN (SELECT id_text FROM {TOUCHED_IDS})"
    )
    con.execute(f"INSERT INTO {FEATURES} BY NAME SELECT * FROM link_features")
    con.execute(f"INSERT INTO {DUPS} BY NAME SELECT * FROM link_dups")
    con.execute(
        f"DELETE FROM {BATCHES} b USING _fb_gone g WHERE b.source = g.source "
        "AND b.batch_id = g.batch_id AND b.key = g.key"
    )
    con.execute(f"INSERT INTO {BATCHES} SELECT * FROM _fb_new")
    distrust_borrowed_ids(con, FEATURES, TOUCHED_IDS)
    judged_otherwise = " OR ".join(f"f.{c} IS DISTINCT FROM j.{c}" for c in JUDGED)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CHANGED_KEYS} AS SELECT record_key FROM _gone_rows "
        "UNION SELECT record_key FROM link_features UNION SELECT record_key FROM link_dups UNION "
        f"SELECT f.record_key FROM {FEATURES} f JOIN _judged j USING (record_key) "
        f"WHERE {judged_otherwise}"
    )
    for t in ("_fb_gone", "_fb_new", "_gone_rows", "_judged"):
        con.execute(f"DROP TABLE {t}")
