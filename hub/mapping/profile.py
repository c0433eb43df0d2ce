"""Content evidence: what each column's values look like, profiled in DuckDB on a sample.

Every column is measured at once (unpivoted to one long table): the share of its values
that are valid citizen IDs, phones, dates, personal names, addresses, bank accounts,
money, small integers; which code list and org-unit level its values belong to; and, where
the file has an ID column, how often a date agrees with the ID's birth date and a gender
with the ID's gender digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from hub.normalize.lookups import load_lookups
from hub.registry.loader import Registry
from hub.warehouse import lit

_CJK = r"\x{4e00}-\x{9fff}"
# kind -> SQL predicate on one cell of `_cells`: `v` the cleaned text, `ns` without spaces,
# and the parsed forms `id18`, `id_problem`, `dt`, `phone`, `key` (materialized first:
# DuckDB inlines macros, and nesting them in one expression multiplies the work)
KIND_SQL = {
    "cn_id": "id18 IS NOT NULL AND id_problem IS NULL",
    "cert20": "regexp_full_match(upper(ns), '[0-9]{17}[0-9X][1-7][1-4]([Bb][0-9])?') "
    "AND hub_id_problem(substr(upper(ns), 1, 18)) IS NULL",
    "phone": "phone IS NOT NULL",
    "date": r"dt IS NOT NULL AND year(dt) BETWEEN 1900 AND 2100 "
    r"AND NOT regexp_full_match(v, '[0-9]{1,4}(\.0+)?')",
    "person_name": f"(regexp_full_match(ns, '[{_CJK}]{{2,4}}') "
    "AND contains($surnames, substr(ns, 1, 1))) "
    f"OR regexp_full_match(ns, '[{_CJK}]{{1,10}}[·•][{_CJK}·•]{{1,20}}')",
    "address": f"length(v) >= 6 AND regexp_matches(v, '[{_CJK}]') "
    "AND regexp_matches(v, '[省市区县镇乡村路街巷号栋幢楼室组弄屯]')",
    "bank_account": r"regexp_full_match(regexp_replace(ns, '-', '', 'g'), '[0-9]{12,25}') "
    "AND (id18 IS NULL OR id_problem IS NOT NULL)",
    "bank_name": "regexp_matches(v, '银行|信用社|农商|农信|邮储|邮政储蓄|信用合作')",
    "money": r"regexp_full_match(ns, '[￥¥]?[0-9]{1,9}(\.[0-9]{1,2})?元?')",
    "small_int": "TRY_CAST(regexp_extract(ns, '^([0-9]{1,2})[人口个]?$', 1) AS INTEGER) "
    "BETWEEN 1 AND 30",
    "identifier": r"regexp_full_match(ns, '[0-9A-Za-z\-]{4,32}')",
}
_PARSE_STEPS = [
    "SELECT rid, col, v, hub_nospace(v) AS ns FROM _cells",
    "SELECT *, hub_id18_of(upper(ns)) AS id18, hub_date_text(v) AS dtext, "
    "hub_phone_digits(v) AS pdigits, upper(ns) AS key FROM _cells",
    "SELECT * EXCLUDE (dtext, pdigits), hub_id_problem(id18) AS id_problem, "
    "hub_date_of(dtext) AS dt, hub_phone_of(pdigits) AS phone FROM _cells",
]


@dataclass
class ColumnProfile:
    """What one column holds; shares are of its non-empty sampled cells."""

    header: str
    rows: int
    filled: int = 0
    distinct: int = 0
    shares: dict[str, float] = field(default_factory=dict)
    codelists: dict[str, tuple[float, float]] = field(default_factory=dict)  # (any, by label)
    orgunits: dict[str, float] = field(default_factory=dict)
    birth_agreement: float | None = None
    gender_agreement: float | None = None


def sample(table: pa.Table, rows: int) -> pa.Table:
    """Rows spread evenly over the whole file (not just its top), the same every time."""
    if table.num_rows <= rows:
        return table
    return table.take(pa.array(np.linspace(0, table.num_rows - 1, rows).astype(np.int64)))


def profile_columns(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    headers: list[str],
    registry: Registry,
    id_column: str | None = None,
) -> list[ColumnProfile]:
    """Profile `headers` of `table` (text cells) on a connection with the hub's macros.

    `id_column` is the header of the resident's own ID column, if the caller knows it.
    """
    cols = [f"c{i}" for i in range(len(headers))]
    part = sample(table.select(headers), registry.mapping.sample_rows).rename_columns(cols)
    profiles = [ColumnProfile(h, part.num_rows) for h in headers]
    if not headers or part.num_rows == 0:
        return profiles
    load_lookups(con, registry)
    con.register("_profiled", part)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _cells AS SELECT rid, col, hub_clean(v) AS v FROM "
            "(UNPIVOT (SELECT row_number() OVER () AS rid, * FROM _profiled) "
            "ON COLUMNS('^c[0-9]+$') INTO NAME col VALUE v) WHERE hub_clean(v) IS NOT NULL"
        )
    finally:
        con.unregister("_profiled")
    for step in _PARSE_STEPS:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cells AS {step}")
    by_col = {c: p for c, p in zip(cols, profiles, strict=True)}
    _shapes(con, by_col, "".join(registry.mapping.surnames.split()))
    _codes(con, by_col)
    _agreement(con, by_col, f"c{headers.index(id_column)}" if id_column in headers else None)
    con.execute("DROP TABLE _cells")
    return profiles


def _shapes(
    con: duckdb.DuckDBPyConnection, by_col: dict[str, ColumnProfile], surnames: str
) -> None:
    kinds = list(KIND_SQL)
    aggs = ", ".join(f"avg(CASE WHEN {KIND_SQL[k]} THEN 1 ELSE 0 END)" for k in kinds)
    rows = con.execute(
        f"SELECT col, count(*), count(DISTINCT v), {aggs} FROM _cells GROUP BY col",
        {"surnames": surnames},
    ).fetchall()
    for col, filled, distinct, *shares in rows:
        p = by_col[col]
        p.filled, p.distinct = int(filled), int(distinct)
        p.shares = {k: float(s) for k, s in zip(kinds, shares, strict=True)}


def _codes(con: duckdb.DuckDBPyConnection, by_col: dict[str, ColumnProfile]) -> None:
    for col, codelist, n, by_label in con.execute(
        "SELECT c.col, k.codelist, count(*), count(*) FILTER (WHERE NOT regexp_full_match(k.key, '[0-9]+')) "
        "FROM _cells c JOIN hub_codes k ON k.key = c.key GROUP BY ALL"
    ).fetchall():
        p = by_col[col]
        p.codelists[codelist] = (n / p.filled, by_label / p.filled)
    for col, level, n in con.execute(
        "SELECT c.col, o.level, count(*) FROM _cells c JOIN hub_org_names o ON o.key = c.key "
        "GROUP BY ALL"
    ).fetchall():
        p = by_col[col]
        p.orgunits[level] = n / p.filled


def _agreement(
    con: duckdb.DuckDBPyConnection, by_col: dict[str, ColumnProfile], id_col: str | None
) -> None:
    """Dates and genders against the birth date and gender digit of the file's ID column:
    `id_col` (the column the header names citizen_id) if it holds IDs, else the column most
    full of them."""
    if id_col is None or by_col[id_col].shares.get("cn_id", 0.0) < 0.8:
        ids = [(p.shares.get("cn_id", 0.0), c) for c, p in by_col.items() if p.filled]
        best, id_col = max(ids, default=(0.0, ""))
        if best < 0.8:
            return
    for col, n, birth, gender in con.execute(
        "SELECT c.col, count(*), avg(CASE WHEN c.dt = hub_id_birth(i.id18) THEN 1 ELSE 0 END), "
        "avg(CASE WHEN g.code = hub_id_gender(i.id18) THEN 1 ELSE 0 END) "
        f"FROM _cells c JOIN _cells i ON i.rid = c.rid AND i.col = {lit(id_col)} "
        "LEFT JOIN hub_codes g ON g.codelist = 'gender' AND g.key = c.key "
        f"WHERE c.col <> {lit(id_col)} AND i.id_problem IS NULL AND i.id18 IS NOT NULL "
        "GROUP BY c.col"
    ).fetchall():
        if n:
            by_col[col].birth_agreement = float(birth)
            by_col[col].gender_agreement = float(gender)
