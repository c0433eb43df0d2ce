"""The linked rows survivorship chooses from: one row per staged person row, its fields typed,
each with the key that ranks it.

A row's person comes from linkage (`core.links`). Its citizen ID is an observation only where
linkage trusted the ID: an ID that disagrees with its row's own facts may be someone else's.
Birth date and gender read off a trusted ID stand in where no department gives them.

Rows stay wide (one column per field) instead of one row per value: choosing a value is then
an aggregate over the rows, so the cost is linear in the rows, not in rows × fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.registry.loader import Registry
from hub.registry.models import Source
from hub.warehouse import lit, q, table_exists

DERIVED_SOURCE = "id_number"  # birth date and gender read off a trusted ID number
DERIVED_DEPARTMENT = "身份证号码推算"
DERIVED_FIELDS = {"birth_date": "hub_id_birth", "gender": "hub_id_gender"}
CORE_ENTITIES = ("person", "household")
ROWS = "core.observed"  # the linked rows of every person source, wide
# Each row carries its person's bucket (a hash of the person id), and a whole build stores
# the rows in bucket order: survivorship reads its persons bucket range by bucket range, and
# each range reads only its own row groups (a filter on the hash itself scanned every row).
BUCKETS = 4096
ROWS_LAYOUT = "bucketed-1"  # a change of the table's columns rebuilds it (hub.core.changes)

# Survivorship order, best first: authority rank, newest observation, source name, the batch
# loaded last (two form batches of one day: the later edits win), first row. Packed into one
# HUGEINT so that choosing a value is a hash aggregate (min per person) instead of a sort.
# Every part is the row's own (no rank among other batches), so a row's key never changes
# when batches come and go and a run can keep the keys of rows it did not touch: authority
# 6 bits, days before 2173 17 bits, source name's place 8 bits, load time 32 bits, then
# (the low 56 bits) a hash of the batch id 32 bits and the row 24 bits.
_ANY_SOURCE = 62


def bucket_sql(person_id: str) -> str:
    """SQL: the bucket of the person whose id is the expression `person_id`."""
    return f"(hash({person_id}) % {BUCKETS})::USMALLINT"


def _row_key(source_rank: int) -> str:
    days = "(100000 - (coalesce(s._observed_at, DATE '1900-01-01') - DATE '1900-01-01'))"
    loaded = "(4294967295 - epoch(b.loaded_at)::BIGINT)"
    batch = "(hash(s._batch_id) >> 32)"  # loaded in the same second: a fixed order
    high = f"(({days}::BIGINT << 40) + ({source_rank}::BIGINT << 32) + {loaded})"
    low = f"(({batch}::BIGINT << 24) + least(s._source_row, 16777215))"
    return f"(({high}::HUGEINT << 56) + {low})"


@dataclass(frozen=True)
class ObservedField:
    name: str
    sql_type: str
    authority: tuple[str, ...]  # sources whose value stands, best first
    sources: tuple[str, ...] = ()  # the person sources that give it (others leave it NULL)

    def key(self, alias: str = "") -> str:
        """SQL: the rank key of this field's value on a row (lower wins)."""
        p = f"{alias}." if alias else ""
        whens = " ".join(f"WHEN {lit(s)} THEN {i}" for i, s in enumerate(self.authority))
        rank = f"CASE {p}source {whens} ELSE {_ANY_SOURCE} END" if whens else str(_ANY_SOURCE)
        return f"(({rank})::HUGEINT << 119) + {p}_row_key"


def observed_fields(registry: Registry) -> list[ObservedField]:
    """Fields that appear in core.person: mapped by some person source, in registry order."""
    from hub.normalize.stage_write import SQL_TYPES

    by: dict[str, list[str]] = {}
    for s in sorted(registry.sources.values(), key=lambda s: s.name):
        for c in s.mapped if s.entity == "person" else []:
            by.setdefault(str(c.field), []).append(s.name)
    return [
        ObservedField(
            f.name,
            SQL_TYPES[f.type],
            tuple(registry.authority_sources(f.name)),
            tuple(dict.fromkeys(by[f.name])),
        )
        for f in registry.fields.values()
        if f.name in by and f.entity in CORE_ENTITIES
    ]


def rows_sql(con: duckdb.DuckDBPyConnection, registry: Registry, persons: str | None = None) -> str:
    """SQL of the linked rows of every person source (of the rows of `persons`, a SQL
    relation of (source, batch_id, source_row), if given), in the shape of core.observed."""
    fields = observed_fields(registry)
    ranks = {name: i for i, name in enumerate(sorted(registry.sources))}
    parts = [
        _source_rows(src, fields, ranks[src.name], persons)
        for src in registry.sources.values()
        if src.entity == "person" and table_exists(con, "staged", src.name)
    ]
    return " UNION ALL ".join(p for p in parts if p) or _empty(fields)


def _source_rows(src: Source, fields: list[ObservedField], rank: int, only: str | None) -> str:
    mapped = {c.field for c in src.mapped}
    cols = []
    for f in fields:
        if f.name == "citizen_id" and src.column_for("citizen_id"):
            value = f"CASE WHEN {_asserted(src, f.name)} THEN l.citizen_id END"
        elif f.name in mapped and f.name != "citizen_id":
            value = f"CASE WHEN {_asserted(src, f.name)} THEN s.{q(f.name)} END"
        else:
            value = "NULL"
        cols.append(f"CAST({value} AS {f.sql_type}) AS {q(f.name)}")
    if not cols:
        return ""
    restrict = (
        f" SEMI JOIN ({only}) o ON o.source = {lit(src.name)} AND o.batch_id = s._batch_id "
        "AND o.source_row = s._source_row"
        if only
        else ""
    )
    return (
        f"SELECT l.person_id, {lit(src.name)} AS source, {lit(src.department)} AS department, "
        "s._batch_id AS batch_id, s._source_row AS source_row, s._observed_at AS observed_at, "
        f"{_row_key(rank)} AS _row_key, {', '.join(cols)}, "
        f"{bucket_sql('l.person_id')} AS _bucket "
        f"FROM staged.{q(src.name)} s JOIN core.links l ON l.source = {lit(src.name)} "
        "AND l.batch_id = s._batch_id AND l.source_row = s._source_row "
        f"JOIN raw._batches b ON b.batch_id = s._batch_id{restrict}"
    )


def _empty(fields: list[ObservedField]) -> str:
    cols = "".join(f", NULL::{f.sql_type} AS {q(f.name)}" for f in fields)
    return (
        "SELECT NULL::VARCHAR person_id, NULL::VARCHAR source, NULL::VARCHAR department, "
        "NULL::VARCHAR batch_id, NULL::INTEGER source_row, NULL::DATE observed_at, "
        f"NULL::HUGEINT _row_key{cols}, NULL::USMALLINT AS _bucket WHERE false"
    )


def _asserted(src: Source, field: str) -> str:
    """SQL: the row asserts `field` (a form row that only carries it to identify the resident
    does not; a row of a source without an asserts column asserts every value)."""
    if not src.asserts:
        return "true"
    listed = q(src.asserts)
    return f"(s.{listed} IS NULL OR list_contains(string_split(s.{listed}, ','), {lit(field)}))"
