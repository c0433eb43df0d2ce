"""Survivorship: per person and field, the authoritative source's value, else the most recent.

Builds `core.provenance` (every observation, the chosen one marked), `core.person` (one row
per citizen_id, typed) and `core.conflicts` (fields where sources disagree).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.core.observations import CORE_ENTITIES, DERIVED_SOURCE, build_observations
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
    con.execute(
        "CREATE OR REPLACE TABLE core.provenance AS "
        "SELECT citizen_id, field, value, source, department, batch_id, source_row, observed_at, "
        "row_number() OVER (PARTITION BY citizen_id, field ORDER BY authority_rank, observed_at DESC, "
        "source, batch_id DESC, source_row) = 1 AS selected FROM core.observations "
        "ORDER BY citizen_id, field, selected DESC, observed_at DESC, source"
    )
    _person(con, registry)
    _conflicts(con)
    persons, conflicts = one(
        con, "SELECT (SELECT count(*) FROM core.person), (SELECT count(*) FROM core.conflicts)"
    )
    return CoreResult(persons=persons, observations=n_obs, conflicts=conflicts)


def person_fields(registry: Registry) -> list[str]:
    """Fields that appear as columns of core.person: mapped by some source, in registry order."""
    mapped = {c.field for s in registry.sources.values() for c in s.mapped}
    return [
        f.name
        for f in registry.fields.values()
        if f.name in mapped and f.name != "citizen_id" and f.entity in CORE_ENTITIES
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
        "WITH chosen AS (SELECT citizen_id, " + ", ".join(cols) + " FROM core.provenance "
        "WHERE selected GROUP BY citizen_id), "
        "seen AS (SELECT citizen_id, list(DISTINCT source ORDER BY source) AS sources, "
        "max(observed_at) AS last_observed_at FROM core.provenance "
        f"WHERE source <> {lit(DERIVED_SOURCE)} GROUP BY citizen_id) "
        "SELECT * FROM chosen LEFT JOIN seen USING (citizen_id) ORDER BY citizen_id"
    )


def _conflicts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE core.conflicts AS "
        "WITH obs AS (SELECT * FROM core.provenance WHERE source <> " + lit(DERIVED_SOURCE) + "), "
        "disagree AS (SELECT citizen_id, field FROM obs GROUP BY ALL HAVING count(DISTINCT value) > 1) "
        "SELECT o.citizen_id, o.field, "
        "max(o.value) FILTER (WHERE o.selected) AS chosen_value, "
        "max(o.source) FILTER (WHERE o.selected) AS chosen_source, "
        "count(DISTINCT o.value) AS n_values, "
        "list({'value': o.value, 'source': o.source, 'observed_at': o.observed_at} "
        "ORDER BY o.observed_at DESC, o.source) AS candidates "
        "FROM obs o JOIN disagree d USING (citizen_id, field) GROUP BY ALL ORDER BY 1, 2"
    )
