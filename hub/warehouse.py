"""The DuckDB warehouse: one file, one schema per layer, the hub's SQL macros on every connection."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hub.normalize.macros import register_macros
from hub.resources import Resources
from hub.run_lock import RunInProgress

LAYERS = ("raw", "staged", "quarantine", "core", "report", "shared", "audit", "identity")
# DuckDB splits a scan among its threads by row group: at its default (122,880 rows) the
# tables of a district (50-150k rows each) are read by one thread; in groups of this size both
# cores work on them (a city's tables have groups to spare either way).
ROW_GROUP_ROWS = 32_768
_ALIAS = "wh"
_LIMIT_VAR = "hub_memory_mb"


def connect(
    path: Path, read_only: bool = False, resources: Resources | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating its layer schemas; macros are registered per connection.
    Memory, threads and spill folder come from `resources` (machine defaults if None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    in_memory = str(path) == ":memory:"
    res = resources or Resources.defaults(path.parent)
    if not in_memory:
        res.spill_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path)) if in_memory else _attach(path, read_only)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise RunInProgress(
            "数据仓库正被另一个进程使用（可能有一次归集正在运行），请等它结束后再试"
        ) from None
    for pragma in res.pragmas(spill=not in_memory):
        try:
            con.execute(pragma)
        except duckdb.InvalidInputException:
            # the buffer pool of a database this process already holds open only grows
            if "block_allocator" not in pragma:
                raise
    if not read_only:
        # The pipeline rewrites large tables; checkpointing at every 16 MB of WAL (the default)
        # compresses tables that the same run soon replaces. One checkpoint on closing.
        con.execute("SET checkpoint_threshold = '8GB'")
        # A monthly run deletes rows all over the large tables (the persons it touched);
        # vacuuming them at the checkpoint rewrites nearly every row group, which costs more
        # than the run. Deleted rows stay marked until `compact` (hub run --full) reclaims them.
        con.execute("SET max_vacuum_tasks = 0")
        for layer in LAYERS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    register_macros(con)
    # the limit in MB as set (DuckDB prints it rounded): release_cache restores it
    con.execute(f"SET VARIABLE {_LIMIT_VAR} = {int(res.memory_mb)}")
    return con


def _attach(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the warehouse file, attached with
    ROW_GROUP_ROWS (a storage option of ATTACH only). Connections of one process to one file
    share one DuckDB instance, as `duckdb.connect(path)` would share it."""
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    con = duckdb.connect(f":memory:hub_{key}")
    try:
        mode = ", READ_ONLY" if read_only else ""
        con.execute(
            f"ATTACH IF NOT EXISTS {lit(str(path))} AS {_ALIAS} "
            f"(ROW_GROUP_SIZE {ROW_GROUP_ROWS}{mode})"
        )
        con.execute(f"USE {_ALIAS}")
        if (
            not read_only
            and one(
                con, f"SELECT readonly FROM duckdb_databases() WHERE database_name = '{_ALIAS}'"
            )[0]
        ):
            raise RunInProgress(f"数据仓库 {path} 已被本进程以只读方式打开，请关闭后再写入")
    except BaseException:
        con.close()
        raise
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A second connection to `con`'s warehouse, for work on another thread: the same
    database and macros, its own temp tables. Close it when done."""
    cur = con.cursor()
    try:
        cur.execute(f"USE {q(one(con, 'SELECT current_database()')[0])}")
        register_macros(cur)
        limit = one(con, f"SELECT getvariable('{_LIMIT_VAR}')")[0]
        if limit is not None:
            cur.execute(f"SET VARIABLE {_LIMIT_VAR} = {int(limit)}")
    except BaseException:
        cur.close()
        raise
    return cur


def release_cache(con: duckdb.DuckDBPyConnection, keep_mb: int = 512) -> None:
    """Let go of the table blocks the buffer pool holds beyond `keep_mb` (by lowering its
    limit for a moment, then setting the connection's own again). A step reads other tables
    than the one before: left cached, the earlier blocks make every new read take memory the
    process never touched, and each such page costs a fault (in a virtual machine, a slow
    one: a city's monthly run spent over half its time there). Released, their memory is
    reused instead. Temp tables the next step reads stay: squeezed out, they would be
    written to the spill folder and read back."""
    limit, temp = one(
        con,
        f"SELECT getvariable('{_LIMIT_VAR}'), (SELECT coalesce(sum(memory_usage_bytes), 0) "
        "FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE')",
    )
    if limit is None:  # not a connection of `connect`
        return
    try:
        con.execute(f"SET memory_limit = '{min(int(keep_mb) + int(temp) // 2**20, int(limit))}MB'")
    except duckdb.Error:
        pass  # what is pinned cannot go: nothing is lost by keeping it
    finally:
        con.execute(f"SET memory_limit = '{int(limit)}MB'")


def compact(con: duckdb.DuckDBPyConnection) -> None:
    """Let the next checkpoint reclaim deleted rows (DuckDB's default vacuum)."""
    con.execute("RESET max_vacuum_tasks")


@contextmanager
def warehouse(
    path: Path, read_only: bool = False, resources: Resources | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only, resources)
    try:
        yield con
        if not read_only:
            con.execute("CHECKPOINT")
    finally:
        con.close()


# what every run derives from raw (and `hub run --full` rebuilds): raw and the access log stay
DERIVED = ("staged", "quarantine", "core", "report", "shared")


def drop_derived(con: duckdb.DuckDBPyConnection) -> int:
    """Drop every table and view of the derived layers; returns how many went."""
    found = con.execute(
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND list_contains(?, table_schema)",
        [list(DERIVED)],
    ).fetchall()
    for schema, name, kind in sorted(found, key=lambda r: r[2] != "VIEW"):  # views first
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {schema}.{q(name)}")
    return len(found)


def one(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None = None
) -> tuple[Any, ...]:
    """The single row of a query; fetched whole because DuckDB 2 keeps a half-read result
    open and refuses further work on the connection."""
    rows = con.execute(sql, params or []).fetchall()
    if len(rows) != 1:
        raise LookupError(f"expected one row, got {len(rows)}: {sql[:80]}")
    return tuple(rows[0])


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether a table or view `schema.name` exists (asked of the catalog functions: the
    information_schema views cost several times more, and runs ask this often)."""
    return bool(
        one(
            con,
            "SELECT EXISTS (SELECT 1 FROM duckdb_tables() WHERE schema_name = $s AND "
            "table_name = $n) OR EXISTS (SELECT 1 FROM duckdb_views() WHERE schema_name = $s "
            "AND view_name = $n)",
            {"s": schema, "n": name},
        )[0]
    )


def temp_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether this connection holds the temp table `name`."""
    return name in temp_tables(con)


def temp_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The temp tables this connection holds."""
    return {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    }


def drop_temps(con: duckdb.DuckDBPyConnection, keep: set[str]) -> None:
    """Drop this connection's temp tables but `keep`: a step's scratch tables (a city's hold
    every node) would otherwise hold memory the next steps need."""
    for name in sorted(temp_tables(con) - keep):
        con.execute(f"DROP TABLE IF EXISTS temp.main.{q(name)}")


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def q(identifier: str) -> str:
    """Quote an identifier (Chinese headers, slashes and all) for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def temp_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: list[str],
    rows: Sequence[tuple[Any, ...]],
    types: Mapping[str, pa.DataType] | None = None,
) -> None:
    """Small lookup rows from Python as TEMP TABLE `name` (text columns unless typed)."""
    types = types or {}
    table = pa.table(
        {
            c: pa.array([r[i] for r in rows], types.get(c, pa.string()))
            for i, c in enumerate(columns)
        }
    )
    con.register("_hub_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _hub_rows")
    finally:
        con.unregister("_hub_rows")
