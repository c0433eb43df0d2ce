"""Run a department's read-only SQL over exactly what it is granted, and log the read.

The query runs in a fresh in-memory DuckDB that holds only the department's granted tables
(copied from their published snapshots, masked and filtered at publish time); external
access is then switched off and the configuration locked, so even SQL that got past the
guard could not read a file, attach a database or change a setting.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from hub.publish.snapshot import dataset_sql, read_current
from hub.registry.loader import Registry
from hub.registry.shares import Share
from hub.settings import Settings
from hub.share.audit import Access, record
from hub.share.describe import with_labels
from hub.share.guard import QueryFailed, QueryRefused, check_query, referenced_tables
from hub.share.tables import KEY, masked, shared_dataset
from hub.warehouse import q


@dataclass
class QueryResult:
    table: pa.Table
    tables: list[str]
    persons: list[str]


def grants_of(registry: Registry, department: str) -> list[Share]:
    department = registry.department_name(department)  # 卫健委 is 卫生健康局
    shares = [s for s in registry.shares.values() if s.department == department]
    if not shares:
        known = "、".join(sorted({s.department for s in registry.shares.values()}))
        raise QueryRefused(f"部门「{department}」没有任何共享授权（有授权的部门：{known}）")
    return shares


def granted_tables(registry: Registry, department: str, today: date) -> dict[str, list[str]]:
    """Table -> columns the department may read now."""
    return {s.name: [KEY, *s.fields] for s in grants_of(registry, department) if s.active(today)}


def explain_refusal(registry: Registry, department: str, name: str, today: date) -> str | None:
    """Why a table a department named is not readable, if it is one of its grants."""
    share = registry.shares.get(name)
    if share is None or share.department != registry.department_name(department):
        return None
    if share.share_type == "不予共享":
        return f"表 {name}（{share.title}）经审核不予共享"
    if share.expires and today > share.expires:
        return f"表 {name} 的授权已于 {share.expires} 到期"
    return None


def open_tables(
    settings: Settings, names: list[str], registry: Registry
) -> duckdb.DuckDBPyConnection:
    current = read_current(settings.published)
    if current is None:
        raise QueryRefused("尚未发布数据：请先运行 hub run")
    con = duckdb.connect()
    for name in names:
        rows = dataset_sql(settings.published, shared_dataset(registry.shares[name]), current)
        con.execute(f"CREATE TABLE {q(name)} AS {rows}")
    con.execute(f"SET memory_limit = '{int(registry.limits.query_memory_mb)}MB'")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


MAX_SQL, MAX_PURPOSE = 20_000, 200


def bounded(con: duckdb.DuckDBPyConnection, sql: str, seconds: float) -> pa.Table:
    """Run `sql`, cancelled past `seconds` (memory is capped on the connection)."""
    timer = threading.Timer(seconds, con.interrupt)
    timer.start()
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.InterruptException:
        raise QueryFailed(
            f"查询超过 {seconds:g} 秒，已中止：请缩小范围（加条件、少连接）后再试"
        ) from None
    except duckdb.OutOfMemoryException:
        raise QueryFailed("查询需要的内存超过上限，已中止：请缩小范围后再试") from None
    finally:
        timer.cancel()


def run_query(
    settings: Settings,
    registry: Registry,
    department: str,
    sql: str,
    purpose: str,
    user: str,
    channel: str = "cli",
    today: date | None = None,
    labels: bool = False,
) -> QueryResult:
    """Check, run and log one query; a refusal is logged too, then raised. With `labels`,
    each code column is followed by its Chinese label (`gender`, `gender_label`)."""
    today = today or date.today()
    access = Access(channel, user, department, [], [], 0, sql, purpose)
    try:
        if not purpose.strip():
            raise QueryRefused("须说明查询用途（--purpose 或 X-Purpose）")
        access.purpose, access.filter = purpose[:MAX_PURPOSE], sql[:MAX_SQL]
        if len(purpose) > MAX_PURPOSE:  # a request, not a refusal: QueryFailed answers 400
            raise QueryFailed(f"用途最长 {MAX_PURPOSE} 字（收到 {len(purpose)} 字）")
        if len(sql) > MAX_SQL:
            raise QueryFailed(f"查询最长 {MAX_SQL} 字（收到 {len(sql)} 字）")
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in purpose):
            raise QueryFailed("用途中有控制字符或换行符：请用一行文字说明用途")
        tables = granted_tables(registry, department, today)
        try:
            tree = check_query(sql, tables, {f.name: f.label for f in registry.fields.values()})
        except QueryRefused:
            for name in referenced_tables_loose(sql):
                why = explain_refusal(registry, department, name, today)
                if why:
                    raise QueryRefused(why) from None
            raise
        access.tables = referenced_tables(tree)
        with open_tables(settings, access.tables, registry) as con:
            seconds = registry.limits.query_seconds
            try:
                table = bounded(con, sql, seconds)
            except duckdb.Error as exc:
                raise QueryFailed(engine_error(exc, tables, access.tables)) from exc
            persons = _persons_read(con, tree, access.tables, seconds)
    except QueryRefused as exc:
        failed = isinstance(exc, QueryFailed)
        access.status, access.reason = ("error" if failed else "refused"), str(exc)
        record(settings, access)
        raise
    if labels:
        hidden = {
            f
            for t in access.tables
            for f in registry.shares[t].fields
            if masked(registry.shares[t], registry.fields[f])
        }
        table = with_labels(table, registry, skip=hidden)
    access.fields, access.rows, access.persons = table.column_names, table.num_rows, persons
    record(settings, access)
    return QueryResult(table, access.tables, persons)


_NO_COLUMN = re.compile(
    r'Referenced column "([^"]+)" not found|does not have a column named "([^"]+)"'
    r'|Column "([^"]+)" does not exist'
)
_NO_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table) Function with name (\w+) does not exist")
_CONVERSION = re.compile(
    r"""(?:Could not convert (?:string )?'([^']*)' to (\w+))|(?:format: "([^"]*)")"""
)


def engine_error(exc: Exception, granted: dict[str, list[str]], used: list[str]) -> str:
    """The engine's English error as a Chinese message naming what was wrong."""
    text = str(exc)
    cols = "、".join(c for t in used for c in granted.get(t, [])) or "（无）"
    if m := _NO_COLUMN.search(text):
        name = next(g for g in m.groups() if g)
        return f"字段 {name} 不存在（{'、'.join(used)} 可查询的字段：{cols}）"
    if m := _NO_FUNCTION.search(text):
        return f"没有函数 {m.group(1)}"
    if isinstance(exc, duckdb.ConversionException):
        m = _CONVERSION.search(text)
        value = (m.group(1) or m.group(3)) if m else None
        shown = f"「{value}」" if value is not None else "有的值"
        return f"类型转换失败：{shown}不能转换为所需的类型（如把文本转为日期或数字）"
    if isinstance(exc, duckdb.ParserException):
        return f"SQL 语法错误：{text.splitlines()[0].removeprefix('Parser Error: ')}"
    if "No function matches" in text:
        return "函数或运算的参数类型不匹配（例如把文本与数字比较）：请检查字段类型"
    if isinstance(exc, duckdb.InterruptException):
        return "查询已被中止"
    return f"查询执行出错（数据库引擎：{type(exc).__name__}）"


def referenced_tables_loose(sql: str) -> list[str]:
    """Table names in SQL that the guard refused (for a more specific reason), best effort."""
    try:
        return [
            t.name for s in sqlglot.parse(sql, read="duckdb") if s for t in s.find_all(exp.Table)
        ]
    except Exception:
        return []


def _persons_read(
    con: duckdb.DuckDBPyConnection, tree: exp.Query, tables: list[str], seconds: float
) -> list[str]:
    """The residents whose rows the query read: those passing its FROM and WHERE (before any
    grouping, so an aggregate counts everyone it summed). For a query too complex to narrow
    down, everyone in the tables it touched: the log over-reports rather than misses."""
    narrowed = _narrow(tree)
    if narrowed is not None:
        try:
            return [str(p) for p in bounded(con, narrowed, seconds).column(0).to_pylist()]
        except (duckdb.Error, QueryFailed):
            pass
    union = " UNION ".join(f"SELECT {KEY} FROM {q(t)}" for t in tables)
    return (
        [r[0] for r in con.execute(f"SELECT DISTINCT {KEY} FROM ({union})").fetchall()]
        if tables
        else []
    )


def _narrow(tree: exp.Query) -> str | None:
    """The query cut down to the residents its FROM and WHERE keep, when that is all it
    reads; None where any other part reads rows (a join, a CTE, a subquery anywhere)."""
    if not isinstance(tree, exp.Select) or tree.args.get("joins") or tree.args.get("with"):
        return None
    if any(s is not tree for s in tree.find_all(exp.Select)):  # subqueries read rows too
        return None
    source = tree.args.get("from") or tree.args.get("from_")
    if source is None or not isinstance(source.this, exp.Table):
        return None
    plain = (
        not tree.args.get("group")
        and not any(
            isinstance(e, exp.AggFunc) for s in tree.expressions for e in s.find_all(exp.AggFunc)
        )
        and not tree.args.get("distinct")
    )
    probe = tree.copy()
    alias = source.this.alias_or_name
    probe.set("expressions", [exp.column(KEY, table=alias)])
    for part in ("group", "having", "qualify", "distinct", "windows"):
        probe.set(part, None)
    if not plain:  # an aggregate reads every row its WHERE keeps
        for part in ("order", "limit", "offset"):
            probe.set(part, None)
    return f"SELECT DISTINCT {KEY} FROM ({probe.sql(dialect='duckdb')})"
