"""raw.<source> -> staged.<source> (+ quarantine), in DuckDB SQL, set-at-a-time.

A run stages the batches that are new since the last one and drops those no longer active
(rejected); a changed registry re-stages the whole source (see `stage_state`), so re-running
is safe and a fixed registry re-judges old rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.ingest.batches import ensure_tables, renamed_headers
from hub.ingest.holds import ACTIVE_SQL
from hub.normalize.columns import RawColumn
from hub.normalize.lookups import load_lookups
from hub.normalize.stage_state import STATE_DDL, StagePlan, plan, record
from hub.normalize.stage_write import (
    ISSUES_DDL,
    check_columns,
    elsewhere_fields,
    elsewhere_sql,
    ext_column,
    undecodable_sql,
    write_issues,
    write_quarantine,
    write_staged,
)
from hub.registry.loader import Registry
from hub.registry.models import Field, Source
from hub.validate.rules import col, source_checks
from hub.warehouse import lit, one, q, table_columns, table_exists, temp_table

# what is judged per batch besides the staged rows, forgotten with them
PER_BATCH = ("staged._rule_counts", "staged._expectations")


@dataclass
class StageResult:
    source: str
    rows: int
    staged: int
    quarantined: int
    warnings: int


def prepare_staging(con: duckdb.DuckDBPyConnection) -> None:
    """The tables every source's staging writes into, made once before sources are staged
    side by side (two connections creating one table at once conflict)."""
    from hub.validate.gx_session import RESULTS_DDL
    from hub.validate.staged_checks import COUNTS_DDL

    ensure_tables(con)
    for ddl in (ISSUES_DDL, STATE_DDL, COUNTS_DDL, RESULTS_DDL):
        con.execute(ddl)


def stage_source(con: duckdb.DuckDBPyConnection, registry: Registry, source: str) -> StageResult:
    """Normalize and validate the raw rows of `source` not yet staged; bad rows go to
    quarantine."""
    src = registry.sources[source]
    con.execute(ISSUES_DDL)
    if not table_exists(con, "raw", source):
        return StageResult(source, 0, 0, 0, 0)
    p = plan(con, registry, source)
    if p.idle:
        return _result(con, source)
    _forget(con, source, p)
    if p.full or p.new:
        fields, ext = _normalize(con, registry, source, p.new)
        checks = source_checks(src, registry.fields)
        write_issues(con, src, fields, checks, p)
        write_staged(con, src, fields, checks, ext, p)
        write_quarantine(con, source, p)
    record(con, source, p)
    return _result(con, source)


def _forget(con: duckdb.DuckDBPyConnection, source: str, p: StagePlan) -> None:
    """Drop what was staged and judged of batches no longer active (of every batch when the
    source is re-staged whole)."""
    gone = p.gone + p.new  # a new batch has nothing staged; deleting is safe on a rerun
    where = "true" if p.full else "list_contains(?, batch_id)"
    args = [] if p.full else [gone]
    for table in PER_BATCH:
        schema, name = table.split(".")
        if table_exists(con, schema, name):
            con.execute(f"DELETE FROM {table} WHERE source = ? AND {where}", [source, *args])
    con.execute(f"DELETE FROM quarantine.issues WHERE source = ? AND {where}", [source, *args])
    if p.full:
        return
    for schema in ("staged", "quarantine"):
        if table_exists(con, schema, source):
            con.execute(
                f"DELETE FROM {schema}.{q(source)} WHERE list_contains(?, _batch_id)", [gone]
            )


def _normalize(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, batches: list[str]
) -> tuple[list[tuple[Field, RawColumn]], list[tuple[str, RawColumn]]]:
    """Build the temp table `_n`: the raw rows of `batches` of `source` with each field as
    written and normalized (see `hub.validate.rules`). Returns the mapped and the extension
    columns."""
    src = registry.sources[source]
    load_lookups(con, registry)
    present = set(table_columns(con, "raw", source))
    ensure_tables(con)  # a warehouse from an earlier release gains the rename columns
    renamed = renamed_headers(con, source)
    fields = [
        (registry.fields[c.field], RawColumn.of(c, renamed, present, src.fallbacks(c)))
        for c in src.mapped
        if c.field
    ]
    ext = [
        (c.extension or "", RawColumn.of(c, renamed, present)) for c in src.columns if c.extension
    ]
    temp_table(con, "_stage_batches", ["batch_id"], [(b,) for b in batches])
    flags = [
        f"coalesce({pred}, false) AS {name}"
        for pred, name in check_columns(source_checks(src, registry.fields)).items()
    ]
    if fields:
        flags.append(f"coalesce({undecodable_sql(fields)}, false) AS _undecodable")
    if elsewhere_fields(fields):
        flags.append(f"coalesce({elsewhere_sql(fields)}, false) AS _elsewhere")
    sql = _normalize_sql(src, fields, ext)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _n AS SELECT *{''.join(', ' + f for f in flags)} "
        f"FROM ({sql})"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _n_of AS SELECT ? AS source, ?::VARCHAR[] AS batches",
        [source, sorted(batches)],
    )
    return fields, ext


def rule_inputs(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, batches: list[str]
) -> str:
    """SQL of the rows of `batches` of `source` as staging judged them: `_n`, rebuilt unless
    it already holds them (then filtered to them)."""
    try:
        held = con.execute("SELECT source, batches FROM _n_of").fetchall()
    except duckdb.CatalogException:
        held = []
    if not held or held[0][0] != source or not set(batches) <= set(held[0][1]):
        _normalize(con, registry, source, batches)
        return "SELECT * FROM _n"
    if set(batches) == set(held[0][1]):
        return "SELECT * FROM _n"
    return f"SELECT * FROM _n WHERE list_contains({_list(batches)}, _batch_id)"


def staged_batches(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """The batches of `source` whose rows are in staged now."""
    if not table_exists(con, "staged", "_staged_batches"):
        return []
    rows = con.execute(
        "SELECT batch_id FROM staged._staged_batches WHERE source = ? ORDER BY 1", [source]
    ).fetchall()
    return [r[0] for r in rows]


def _list(values: list[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]::VARCHAR[]"


# Normalizers in two steps: a cheap text preparation, then the parse on the prepared column.
# DuckDB inlines macros, so parsing a prepared column (not a nested expression) keeps each
# value's work linear instead of multiplying with every reference.
_PREPARE = {
    "cn_id": "upper(hub_nospace({}))",
    "date": "hub_date_text({})",
    "phone": "hub_phone_digits({})",
}
_FINISH = {
    "text": "hub_clean",
    "name": "hub_name",
    "cn_id": "hub_id18_of",
    "date": "hub_date_of",
    "phone": "hub_phone_of",
    "integer": "hub_integer",
    "decimal": "hub_decimal",
    "account": "hub_account",
    "cert_no": "hub_cert_no",
}


def _normalize_sql(
    src: Source, fields: list[tuple[Field, RawColumn]], ext: list[tuple[str, RawColumn]]
) -> str:
    prep = ["r._batch_id", "r._source_row", "r._file_name", "b.observed_at AS _observed_at"]
    parse = ["p._batch_id", "p._source_row", "p._file_name", "p._observed_at"]
    for i, (_, rc) in enumerate(ext):  # extension columns are kept as written
        prep.append(f"{rc.value('r')} AS {ext_column(i)}")
        parse.append(f"p.{ext_column(i)}")
    joins = []
    last = []
    dups: list[tuple[str, str]] = []  # (value column, its count column) of unique_in_batch
    addresses = [col(f.name, "raw") for f, _ in fields if f.content_kind == "address"]
    for f, rc in fields:
        raw, t, hdr = col(f.name, "raw"), col(f.name, "t"), col(f.name, "hdr")
        raw_col = rc.value("r")
        prep.append(f"{raw_col} AS {raw}")
        parse.append(f"p.{raw}")
        if not rc.fixed_header:  # else a constant, written where it is read (header_sql)
            prep.append(f"{rc.header_in_file('r')} AS {hdr}")
            parse.append(f"p.{hdr}")
        # a line in another encoding has U+FFFD before every cell (hub.ingest.encoding): the
        # row is quarantined for that alone, so the mark must not fail each cell's own rules
        source_col = f"ltrim({raw_col}, {lit(chr(0xFFFD))})"
        if f.normalize in ("code", "boolean", "orgunit"):
            table, kind, key = (
                ("hub_orgs", "level", f.orgunit_level)
                if f.normalize == "orgunit"
                else ("hub_codes", "codelist", f.codelist)
            )
            alias = q(f"l_{f.name}")
            prep.append(f"hub_code_key({source_col}) AS {t}")
            joins.append(
                f"LEFT JOIN {table} {alias} ON {alias}.{kind} = {lit(key or '')} "
                f"AND {alias}.key = p.{t}"
            )
            value = f"{alias}.code = '1'" if f.normalize == "boolean" else f"{alias}.code"
            if f.orgunit_level == "community" and addresses:
                value = _community_by_street(f.name, raw, addresses, joins, value)
        else:
            prep.append(f"{_PREPARE.get(f.normalize, '{}').format(source_col)} AS {t}")
            value = f"{_FINISH[f.normalize]}(p.{t})"
        parse.append(f"{value} AS {col(f.name, 'v')}")
        v = col(f.name, "v")
        if f.normalize == "cn_id":
            last.append(f"hub_id_problem({v}) AS {col(f.name, 'problem')}")
        if f.rule("unique_in_batch"):
            dups.append((v, col(f.name, "dups")))
    prepared = (
        f"SELECT {', '.join(prep)} FROM raw.{q(src.name)} r "
        f"JOIN raw._batches b ON b.batch_id = r._batch_id "
        f"SEMI JOIN _stage_batches sb ON sb.batch_id = r._batch_id WHERE {ACTIVE_SQL}"
    )
    parsed = f"SELECT {', '.join(parse)} FROM ({prepared}) p {' '.join(joins)}"
    if not dups:
        return f"SELECT *{''.join(', ' + x for x in last)} FROM ({parsed})"
    # how often each value occurs in its batch: counted apart and joined (a window over the
    # parsed rows would carry every column through its partitioning, ~3x the cost)
    ctes, counts, on = [f"parsed AS MATERIALIZED ({parsed})"], [], []
    for i, (v, name) in enumerate(dups):
        ctes.append(
            f"_d{i} AS (SELECT _batch_id AS _d_batch, {v} AS _d_value, count(*) AS _d_n "
            f"FROM parsed WHERE {v} IS NOT NULL GROUP BY ALL)"
        )
        counts.append(f"_d{i}._d_n AS {name}")
        on.append(
            f"LEFT JOIN _d{i} ON _d{i}._d_batch = parsed._batch_id AND _d{i}._d_value = parsed.{v}"
        )
    return (
        f"WITH {', '.join(ctes)} SELECT parsed.*{''.join(', ' + x for x in last + counts)} "
        f"FROM parsed {' '.join(on)}"
    )


# the street office as an address names it: 新疆…沙依巴克区西山街道和平社区… -> 西山街道
_STREET_IN_ADDRESS = "([^省市区县旗盟州\\s0-9]{2,8}(街道|镇|乡))"


def _community_by_street(
    name: str, raw: str, addresses: list[str], joins: list[str], value: str
) -> str:
    """和平社区 when two streets have one: the row's own address names the street, and the
    street with the name is one unit."""
    alias = q(f"s_{name}")
    street = f"regexp_extract(coalesce({', '.join(f'p.{a}' for a in addresses)}), "
    street += f"{lit(_STREET_IN_ADDRESS)}, 1)"
    # the street is read from the address only where the code alone did not find the unit
    joins.append(
        f"LEFT JOIN hub_orgs {alias} ON {alias}.level = 'community' "
        f"AND {alias}.key = CASE WHEN {value} IS NULL THEN hub_code_key({street} || p.{raw}) END"
    )
    return f"coalesce({value}, {alias}.code)"


def _result(con: duckdb.DuckDBPyConnection, source: str) -> StageResult:
    row = one(
        con,
        f"SELECT (SELECT count(*) FROM raw.{q(source)}), (SELECT count(*) FROM staged.{q(source)}), "
        f"(SELECT count(*) FROM quarantine.{q(source)}), "
        "(SELECT count(DISTINCT (batch_id, source_row)) FROM quarantine.issues "
        "WHERE source = ? AND severity = 'warning')",
        [source],
    )
    return StageResult(source, *row)
