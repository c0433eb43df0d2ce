"""Stages a killed run left half done.

An incremental stage changes its tables in several statements (features, nodes, links; the
person rows, choices and conflicts of the touched persons). Each such stage marks itself
before it starts changing them and clears the mark when done: a run that finds the mark redoes
that stage whole from its inputs instead of building on a half-changed state.
"""

from __future__ import annotations

import duckdb

from hub.warehouse import one


def begin(con: duckdb.DuckDBPyConnection, stage: str) -> bool:
    """Mark `stage` as under way; returns True if a run before left it unfinished."""
    con.execute("CREATE SCHEMA IF NOT EXISTS core")
    con.execute("CREATE TABLE IF NOT EXISTS core._unfinished (stage VARCHAR)")
    left = bool(one(con, "SELECT count(*) FROM core._unfinished WHERE stage = ?", [stage])[0])
    if not left:
        con.execute("INSERT INTO core._unfinished VALUES (?)", [stage])
    return left


def done(con: duckdb.DuckDBPyConnection, stage: str) -> None:
    con.execute("DELETE FROM core._unfinished WHERE stage = ?", [stage])
