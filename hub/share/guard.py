"""Refuse any department SQL that is not one read-only query over its granted tables.

Parsed with sqlglot (DuckDB dialect); every refusal names what was refused, in Chinese.
The query connection is locked down as well (no external access, configuration locked):
this check gives the clear message, the connection is the second wall.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

# statements by their first word, with why they are refused
_VERBS = {
    **dict.fromkeys(
        ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "UPSERT"), "不允许修改数据（只读查询）"
    ),
    **dict.fromkeys(
        ("CREATE", "DROP", "ALTER", "COMMENT", "VACUUM", "CHECKPOINT"),
        "不允许定义或修改表结构（DDL）",
    ),
    **dict.fromkeys(("ATTACH", "DETACH", "USE"), "不允许挂载或切换数据库（ATTACH）"),
    **dict.fromkeys(("COPY", "EXPORT", "IMPORT"), "不允许导入导出文件（COPY/EXPORT）"),
    **dict.fromkeys(("PRAGMA", "SET", "RESET", "CALL"), "不允许修改设置或调用过程（PRAGMA/SET）"),
    **dict.fromkeys(("INSTALL", "LOAD", "FORCE"), "不允许安装或加载扩展"),
}
# functions that reach outside the granted tables: files, settings, the catalog, the network
_FUNC_PREFIXES = ("read_", "duckdb_", "pragma_", "sniff_", "parquet_", "iceberg_", "delta_")
_FUNCS = {
    "glob",
    "getenv",
    "current_setting",
    "query",
    "query_table",
    "scan_parquet",
    "parquet_scan",
    "read_csv",
    "read_csv_auto",
    "read_json",
    "read_json_auto",
    "read_text",
    "read_blob",
    "read_parquet",
    "read_ndjson",
    "which_secret",
    "load_extension",
    "install_extension",
}


_CATALOG_PREFIXES = ("pg_", "duckdb_", "sqlite_")
_CATALOG_NAMES = {"information_schema", "sys", "temp", "main", "system"}


def _is_catalog(name: str) -> bool:
    low = name.lower()
    return low.startswith(_CATALOG_PREFIXES) or low in _CATALOG_NAMES


# sqlglot warns on statements it cannot parse fully; refusing them is this module's job
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class QueryRefused(Exception):
    """A query the department may not run; the message says why."""


class QueryFailed(QueryRefused):
    """A query that cannot run as written (a syntax error, a mistyped column, a bad cast):
    not a refusal, the department's SQL needs fixing."""


def check_query(sql: str, tables: Mapping[str, list[str]], fields: Mapping[str, str]) -> exp.Query:
    """Parse `sql` and refuse it unless it is one SELECT over `tables` (name -> granted columns).

    `fields` maps every known data element to its label, so an ungranted one is named.
    """
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise QueryRefused("查询语句为空")
    verb = text.split(None, 1)[0].upper()
    if verb in _VERBS:
        raise QueryRefused(f"{_VERBS[verb]}：{verb}")
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryFailed(_syntax_error(exc)) from exc
    if len(statements) != 1:
        raise QueryRefused("一次只能执行一条查询语句")
    (tree,) = statements
    if not isinstance(tree, exp.Query):
        raise QueryRefused(f"只允许 SELECT 查询（收到 {tree.key.upper()}）")
    _check_functions(tree)
    used = _check_tables(tree, tables)
    _check_columns(tree, {c for t in used for c in tables[t]}, fields)
    return tree


def _syntax_error(exc: Exception) -> str:
    """Where the SQL stops making sense, in Chinese (the parser's own text is English)."""
    where = (getattr(exc, "errors", None) or [{}])[0]
    if where.get("line"):
        near = f"「{where.get('highlight')}」" if where.get("highlight") else ""
        return (
            f"SQL 语法错误：第 {where['line']} 行第 {where['col']} 列附近{near}无法解析"
            "（请检查括号、逗号、引号和关键字的拼写）"
        )
    return "SQL 语法错误：无法解析（请检查引号和括号是否成对）"


def referenced_tables(tree: Any) -> list[str]:
    return sorted({t.name for t in _real_tables(tree)})


def _real_tables(tree: Any) -> list[exp.Table]:
    """The tables the query reads, its names resolved scope by scope (a CTE's name shadows a
    table only where that CTE is visible)."""
    try:
        scopes = traverse_scope(tree)
    except Exception:  # sqlglot cannot resolve it: nothing reads what cannot be checked
        raise QueryRefused("查询的结构无法确认读取了哪些表：请写成更简单的形式") from None
    return [s for scope in scopes for s in scope.sources.values() if isinstance(s, exp.Table)]


def _check_functions(tree: Any) -> None:
    for f in tree.find_all(exp.Func):
        name = (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()
        if name in _FUNCS or name.startswith(_FUNC_PREFIXES):
            raise QueryRefused(f"不允许使用函数 {name}（不能读取文件、设置或数据库目录）")


def _check_tables(tree: Any, tables: Mapping[str, list[str]]) -> set[str]:
    for cte in tree.find_all(exp.CTE):  # a CTE may not pose as the catalog, in any scope
        if _is_catalog(cte.alias_or_name):
            raise QueryRefused(f"不允许使用系统目录的名称：{cte.alias_or_name}")
    for t in tree.find_all(exp.Table):
        if not t.name:
            raise QueryRefused("不允许在 FROM 中使用表函数")
        if t.args.get("db") or t.args.get("catalog"):
            raise QueryRefused(f"不允许指定库或模式：{t.sql(dialect='duckdb')}")
        if _is_catalog(t.name):
            raise QueryRefused(f"不允许读取系统目录：{t.name}")
    used = set()
    for t in _real_tables(tree):
        if "/" in t.name or "." in t.name or "\\" in t.name:
            raise QueryRefused(f"不允许直接读取文件：{t.name}")
        if t.name not in tables:
            raise QueryRefused(f"表 {t.name} 未授权给本部门（可查询：{', '.join(sorted(tables))}）")
        used.add(t.name)
    return used


def _check_columns(tree: Any, granted: set[str], fields: Mapping[str, str]) -> None:
    aliases = {a.alias for a in tree.find_all(exp.Alias)}
    aliases |= {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for col in tree.find_all(exp.Column):
        name = col.name
        if name in granted or name in aliases or not name:
            continue
        if name in fields:
            raise QueryRefused(f"字段 {name}（{fields[name]}）不在本部门的授权范围内")
