"""What staging writes from the normalizing table `_n` (hub.normalize.stage): the issues of
each rule, the rows kept in `staged.<source>`, and the rows sent to quarantine.

Each rule predicate is judged once, as a flag column of `_n` (`check_columns`): the issues,
the kept rows and the rule counts all read the same flags.
"""

from __future__ import annotations

import duckdb

from hub.normalize.columns import RawColumn
from hub.normalize.stage_state import StagePlan
from hub.registry.models import Field, Source
from hub.validate.rules import Check, col
from hub.warehouse import lit, q, table_exists

ISSUES_DDL = """
CREATE TABLE IF NOT EXISTS quarantine.issues (
    source VARCHAR, batch_id VARCHAR, file_name VARCHAR, source_row INTEGER, field VARCHAR,
    column_header VARCHAR, rule_kind VARCHAR, rule VARCHAR, severity VARCHAR, value VARCHAR, message VARCHAR
)
"""
SQL_TYPES = {
    "string": "VARCHAR",
    "code": "VARCHAR",
    "date": "DATE",
    "integer": "INTEGER",
    "decimal": "DECIMAL(14, 2)",
    "boolean": "BOOLEAN",
}


def check_columns(checks: list[Check]) -> dict[str, str]:
    """Each distinct rule predicate's column in `_n`: judged once per row when `_n` is
    built, read by the issues, the staged rows and the rule counts alike."""
    out: dict[str, str] = {}
    for c in checks:
        out.setdefault(c.predicate, f"_chk_{len(out)}")
    return out


def header_sql(fields: list[tuple[Field, RawColumn]], name: str) -> str:
    """The header of field `name` in the row's file: a constant where every file used one
    (`_n` holds no column of it), else `_n`'s column."""
    rc = next((rc for f, rc in fields if f.name == name), None)
    if rc is not None and rc.fixed_header:
        return rc.header_in_file()
    return col(name, "hdr")


def ext_column(i: int) -> str:
    return q(f"__ext_{i}")


def write_issues(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    fields: list[tuple[Field, RawColumn]],
    checks: list[Check],
    p: StagePlan,
) -> None:
    flag = check_columns(checks)
    # a community of another district is said once, as that (not also as unknown here)
    elsewhere = {f.name for f in elsewhere_fields(fields)}
    parts = [
        f"SELECT {lit(src.name)}, _batch_id, _file_name, _source_row, {lit(c.field)}, "
        f"{header_sql(fields, c.field)}, {lit(c.kind)}, {c.rule}, {lit(c.severity)}, {col(c.field, 'raw')}, {c.message} "
        f"FROM _n WHERE {flag[c.predicate]}"
        + (" AND NOT _elsewhere" if c.field in elsewhere and c.kind == "format" else "")
        for c in checks
    ]
    if fields:
        parts.append(_undecodable(src, fields))
    parts += [_elsewhere_issues(src, fields, f) for f in elsewhere_fields(fields)]
    if parts:
        con.execute("INSERT INTO quarantine.issues " + " UNION ALL ".join(parts))


UNDECODABLE = (
    "这一行的编码与文件的其他行不同（如 UTF-8 文件中混入了 GB18030 文字），无法识别的字符显示为"
    " �：整行未加载，请核对这一行后重新发送"
)


def _undecodable(src: Source, fields: list[tuple[Field, RawColumn]]) -> str:
    """Rows the reader could only decode with U+FFFD (a line in another encoding,
    hub.ingest.encoding): quarantined whole, the first such cell named."""
    marks = _marks(fields)

    def first(of: str) -> str:  # the field, header or value of the first marked cell
        whens = []
        for cond, name in marks:
            if of == "field":
                then = lit(name)
            elif of == "hdr":
                then = header_sql(fields, name)
            else:
                then = col(name, of)
            whens.append(f"WHEN {cond} THEN {then}")
        return f"CASE {' '.join(whens)} END"

    return (
        f"SELECT {lit(src.name)}, _batch_id, _file_name, _source_row, {first('field')}, "
        f"{first('hdr')}, 'encoding', 'mixed_encoding', 'error', {first('raw')}, "
        f"{lit(UNDECODABLE)} FROM _n WHERE _undecodable"
    )


def elsewhere_fields(fields: list[tuple[Field, RawColumn]]) -> list[Field]:
    """The community columns of a table: where a row names another district's community."""
    return [f for f, _ in fields if f.normalize == "orgunit" and f.orgunit_level == "community"]


def elsewhere_sql(fields: list[tuple[Field, RawColumn]]) -> str:
    """True on a row whose community is one of another district of the city (`hub_elsewhere`,
    hub.normalize.lookups), not of this one: that district loads it."""
    return " OR ".join(
        f"({col(f.name, 'v')} IS NULL AND hub_code_key({col(f.name, 'raw')}) IN "
        "(SELECT key FROM hub_elsewhere))"
        for f in elsewhere_fields(fields)
    )


def _elsewhere_issues(src: Source, fields: list[tuple[Field, RawColumn]], f: Field) -> str:
    raw = col(f.name, "raw")
    message = (
        f"'「' || {raw} || '」是本市' || e.district || '的社区：这一行由该区县加载，本区不加载'"
    )
    return (
        f"SELECT {lit(src.name)}, _batch_id, _file_name, _source_row, {lit(f.name)}, "
        f"{header_sql(fields, f.name)}, 'district', 'other_district', 'error', {raw}, {message} "
        f"FROM _n JOIN hub_elsewhere e ON e.key = hub_code_key({raw}) "
        f"WHERE _elsewhere AND {col(f.name, 'v')} IS NULL"
    )


def _marks(fields: list[tuple[Field, RawColumn]]) -> list[tuple[str, str]]:
    return [(f"contains({col(f.name, 'raw')}, {lit(chr(0xFFFD))})", f.name) for f, _ in fields]


def undecodable_sql(fields: list[tuple[Field, RawColumn]]) -> str:
    return " OR ".join(c for c, _ in _marks(fields))


def write_staged(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    fields: list[tuple[Field, RawColumn]],
    checks: list[Check],
    ext: list[tuple[str, RawColumn]],
    p: StagePlan,
) -> None:
    flag = check_columns(checks)
    sel = ["n._batch_id", "n._source_row", "n._file_name", "n._observed_at"]
    for f, _ in fields:
        bad = list(
            dict.fromkeys(flag[c.predicate] for c in checks if c.field == f.name and c.nulls_value)
        )
        v = col(f.name, "v")
        value = f"CASE WHEN {' OR '.join(bad)} THEN NULL ELSE {v} END" if bad else v
        sel.append(f"CAST({value} AS {SQL_TYPES[f.type]}) AS {q(f.name)}")
    for i, (name, _) in enumerate(ext):
        sel.append(f"hub_clean(n.{ext_column(i)}) AS {q(name)}")
    if src.entity == "person":
        sel += _link_columns({f.name for f, _ in fields}, checks)
    into = (
        f"CREATE OR REPLACE TABLE staged.{q(src.name)} AS"
        if p.full
        else f"INSERT INTO staged.{q(src.name)}"
    )
    # a row is quarantined when it breaks an error rule or could not be decoded: the same
    # flags `_write_issues` wrote its errors from
    errors = list(dict.fromkeys(flag[c.predicate] for c in checks if c.severity == "error"))
    if fields:
        errors.append("_undecodable")
    if elsewhere_fields(fields):
        errors.append("_elsewhere")
    keep = f"WHERE NOT ({' OR '.join(errors)}) " if errors else ""
    con.execute(
        f"{into} SELECT {', '.join(sel)} FROM _n n {keep}ORDER BY n._batch_id, n._source_row"
    )


def _link_columns(mapped: set[str], checks: list[Check]) -> list[str]:
    """What linkage needs that staging withholds: the ID as written (valid or not), whether
    the ID can be trusted (valid, agreeing with the row's own birth date and gender), and the
    birth date and gender as written."""
    if "citizen_id" not in mapped:
        return [
            "CAST(NULL AS VARCHAR) AS _id_text",
            "false AS _id_trusted",
            *_as_written(mapped),
        ]
    flag = check_columns(checks)
    disagree = [
        flag[c.predicate]
        for c in checks
        if c.kind == "agrees_with_citizen_id" and c.field in ("birth_date", "gender")
    ]
    doubt = f" AND NOT ({' OR '.join(disagree)})" if disagree else ""
    valid = f"{col('citizen_id', 'v')} IS NOT NULL AND {col('citizen_id', 'problem')} IS NULL"
    return [
        f"{col('citizen_id', 'v')} AS _id_text",
        f"coalesce({valid}{doubt}, false) AS _id_trusted",
        *_as_written(mapped),
    ]


def _as_written(mapped: set[str]) -> list[str]:
    out = []
    for name, sql_type in (("birth_date", "DATE"), ("gender", "VARCHAR")):
        value = col(name, "v") if name in mapped else "NULL"
        if (
            name == "birth_date" and name in mapped
        ):  # a year or month only is no birth date to link by
            raw = col(name, "raw")
            value = f"CASE WHEN hub_date_precision(hub_date_text({raw})) = 'day' THEN {value} END"
        out.append(f"CAST({value} AS {sql_type}) AS _{name}_written")
    return out


def write_quarantine(con: duckdb.DuckDBPyConnection, source: str, p: StagePlan) -> None:
    into = (
        f"CREATE OR REPLACE TABLE quarantine.{q(source)} AS"
        if p.full or not table_exists(con, "quarantine", source)
        else f"INSERT INTO quarantine.{q(source)}"
    )
    con.execute(
        f"{into} SELECT e.errors AS _errors, r.* FROM raw." + q(source) + " r "
        "SEMI JOIN _stage_batches sb ON sb.batch_id = r._batch_id JOIN ("
        "SELECT batch_id, source_row, string_agg(message, '；' ORDER BY field) AS errors "
        f"FROM quarantine.issues WHERE source = {lit(source)} AND severity = 'error' "
        "GROUP BY ALL) e ON e.batch_id = r._batch_id AND e.source_row = r._source_row "
        "ORDER BY r._batch_id, r._source_row"
    )
