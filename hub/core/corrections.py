"""Accepted corrections (纠错回流) in survivorship.

`core.corrections` mirrors the accepted corrections of the request store, one per resident and
field (the latest). After survivorship chose a field's value, a correction replaces it when
the chosen value is the very one it corrected: the authority still sends its old value. A
different value, newer from the authority, is chosen again as usual. A corrected value's rank
key is CORRECTED, which no row has: provenance then marks no department row selected and lists
the correction itself (source `correction`) as the value chosen.

A run recomputes exactly the residents whose accepted corrections changed since the last one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.core.observations import ObservedField
from hub.warehouse import lit, q, temp_table


@dataclass(frozen=True)
class Accepted:
    """An accepted correction as survivorship reads it (see hub.form.corrections)."""

    person_id: str
    field: str
    old: str
    new: str
    request_id: str
    department: str
    decided_at: str


TABLE = "core.corrections"
SOURCE = "correction"
CORRECTED = "-1::HUGEINT"  # the rank key of a corrected value: below every row's key (>= 0)
_COLS = ["person_id", "field", "old", "new", "request_id", "department", "decided_at"]
DDL = f"CREATE TABLE IF NOT EXISTS {TABLE} ({', '.join(f'{c} VARCHAR' for c in _COLS)})"


def sync(con: duckdb.DuckDBPyConnection, now: list[Accepted] | None) -> str | None:
    """Make core.corrections hold `now` (None: keep it as it is); returns SQL of the persons
    whose corrections changed, or None when none did."""
    con.execute(DDL)
    if now is None:
        return None
    rows = [tuple(getattr(a, c) for c in _COLS) for a in now]
    temp_table(con, "_corrections_now", _COLS, rows)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _corrections_changed AS SELECT DISTINCT person_id FROM ("
        f"(SELECT * FROM _corrections_now EXCEPT SELECT * FROM {TABLE}) UNION ALL "
        f"(SELECT * FROM {TABLE} EXCEPT SELECT * FROM _corrections_now))"
    )
    changed = int(con.execute("SELECT count(*) FROM _corrections_changed").fetchall()[0][0])
    if changed:
        con.execute(f"DELETE FROM {TABLE}")
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM _corrections_now")
    con.execute("DROP TABLE _corrections_now")
    return "SELECT person_id FROM _corrections_changed" if changed else None


def corrected_fields(
    con: duckdb.DuckDBPyConnection, fields: list[ObservedField]
) -> list[ObservedField]:
    """The fields some accepted correction is about (none: survivorship does nothing more)."""
    names = {r[0] for r in con.execute(f"SELECT DISTINCT field FROM {TABLE}").fetchall()}
    return [f for f in fields if f.name in names]


def apply(con: duckdb.DuckDBPyConnection, chosen: str, fields: list[ObservedField]) -> None:
    """In the temp table `chosen` (columns `<field>#v`, `<field>#k`), replace each value an
    accepted correction corrected by the corrected value."""
    for f in fields:
        v, k = q(f"{f.name}#v"), q(f"{f.name}#k")
        con.execute(
            f"UPDATE {chosen} c SET {v} = TRY_CAST(x.new AS {f.sql_type}), {k} = {CORRECTED} "
            f"FROM {TABLE} x WHERE x.person_id = c.person_id AND x.field = {lit(f.name)} "
            f"AND c.{v} = TRY_CAST(x.old AS {f.sql_type})"
        )


def provenance_part(fields: list[ObservedField], choice: str, key: str) -> str | None:
    """SQL rows (person_id, field, value, source, department, batch_id, source_row,
    observed_at, selected) of the corrections in force over `choice` (core.choice or a copy
    narrowed to some persons); `key` names a field's key column there. None: no field."""
    if not fields:
        return None
    keyed = " ".join(f"WHEN {lit(f.name)} THEN c.{key.format(f.name)}" for f in fields)
    value = " ".join(
        f"WHEN {lit(f.name)} THEN CAST(TRY_CAST(x.new AS {f.sql_type}) AS VARCHAR)" for f in fields
    )
    return (
        f"SELECT x.person_id, x.field, CASE x.field {value} END AS value, {lit(SOURCE)} AS source, "
        "x.department || '（确认社区更正）' AS department, x.request_id AS batch_id, "
        "0 AS source_row, TRY_CAST(x.decided_at AS DATE) AS observed_at, true AS selected "
        f"FROM {TABLE} x JOIN {choice} c USING (person_id) "
        f"WHERE CASE x.field {keyed} END = {CORRECTED}"
    )
