"""Survivorship: per person and field, the authoritative source's value, else the most recent.

Builds `core.provenance` (every observation, the chosen one marked), `core.person` (one row
per person as linkage formed them, typed, with the citizen ID where one is trusted) and
`core.conflicts` (fields where sources disagree).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.core.observations import (
    CORE_ENTITIES,
    DERIVED_SOURCE,
    OBSERVATIONS,
    build_observations,
)
from hub.normalize.stage import SQL_TYPES
from hub.registry.loader import Registry
from hub.warehouse import lit, one, q


@dataclass
class CoreResult:
    persons: int
    observations: int
    conflicts: int


def build_core(con: duckdb.DuckDBPyConnection, registry: Registry) -> CoreResult:
    n_obs = build_observations(con, registry)
    # one aggregate per person and field: the surviving value, and whether departments
    # disagree (min <> max is count(DISTINCT) > 1 without the distinct)
    reported = f"source <> {lit(DERIVED_SOURCE)}"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hub_chosen AS SELECT person_id, field, min(rank_key) AS rank_key, "
        f"arg_min(value, rank_key) AS value, min(value) FILTER (WHERE {reported}) "
        f"IS DISTINCT FROM max(value) FILTER (WHERE {reported}) AS disagree "
        f"FROM {OBSERVATIONS} GROUP BY ALL"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.provenance AS "
        "SELECT o.person_id, o.field, o.value, o.source, o.department, o.batch_id, o.source_row, "
        f"o.observed_at, c.rank_key IS NOT NULL AS selected FROM {OBSERVATIONS} o "
        "LEFT JOIN hub_chosen c ON c.person_id = o.person_id AND c.field = o.field "
        "AND c.rank_key = o.rank_key"
    )
    _person(con, registry)
    _conflicts(con)
    persons, conflicts = one(
        con, "SELECT (SELECT count(*) FROM core.person), (SELECT count(*) FROM core.conflicts)"
    )
    con.execute(f"DROP TABLE {OBSERVATIONS}; DROP TABLE hub_chosen")
    return CoreResult(persons=persons, observations=n_obs, conflicts=conflicts)


def person_fields(registry: Registry) -> list[str]:
    """Fields that appear as columns of core.person: mapped by some source, in registry order."""
    mapped = {c.field for s in registry.sources.values() for c in s.mapped}
    return [
        f.name for f in registry.fields.values() if f.name in mapped and f.entity in CORE_ENTITIES
    ]


def _person(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    cols = []
    for name in person_fields(registry):
        sql_type = SQL_TYPES[registry.fields[name].type]
        cols.append(
            f"CAST(max(value) FILTER (WHERE field = {lit(name)}) AS {sql_type}) AS {q(name)}"
        )
    con.execute(
        "CREATE OR REPLACE TABLE core.person AS "
        "WITH chosen AS (SELECT person_id, " + ", ".join(cols) + " FROM hub_chosen "
        "GROUP BY person_id), "
        "seen AS (SELECT person_id, list(source ORDER BY source) AS sources, "
        "max(last_seen) AS last_observed_at FROM (SELECT person_id, source, "
        f"max(observed_at) AS last_seen FROM {OBSERVATIONS} "
        f"WHERE source <> {lit(DERIVED_SOURCE)} GROUP BY ALL) GROUP BY person_id), "
        "linked AS (SELECT person_id, bool_or(method = 'id') AS by_id, "
        "count(*) FILTER (WHERE method IN ('probabilistic', 'review')) AS rows_by_model "
        "FROM core.links GROUP BY person_id) "
        "SELECT * FROM chosen LEFT JOIN seen USING (person_id) LEFT JOIN linked USING (person_id)"
    )


def _conflicts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE core.conflicts AS "
        "SELECT o.person_id, o.field, "
        "arg_min(o.value, o.rank_key) AS chosen_value, "
        "arg_min(o.source, o.rank_key) AS chosen_source, "
        "count(DISTINCT o.value) AS n_values, "
        "list({'value': o.value, 'source': o.source, 'observed_at': o.observed_at} "
        "ORDER BY o.observed_at DESC, o.source, o.value) AS candidates "
        f"FROM {OBSERVATIONS} o SEMI JOIN (SELECT person_id, field FROM hub_chosen "
        "WHERE disagree) d USING (person_id, field) "
        f"WHERE o.source <> {lit(DERIVED_SOURCE)} GROUP BY ALL"
    )
