"""Check a form entry with the pipeline's own rules before it is saved.

The entry is staged exactly as a submission would be — in a scratch in-memory DuckDB, by
`stage_source` — so the web form and the pipeline can never disagree about what is valid.

Staging costs its SQL's planning, not its rows, so a save is kept cheap two ways: only the
columns that carry a value (and the fields whose rule fires on an empty one) are staged —
on an absent column no other rule can fire — and scratch warehouses are reused from a small
pool, one per core, instead of opened per save.
"""

from __future__ import annotations

import json
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from hub.form.submissions import Submission, submission_table
from hub.ingest.raw import store_table
from hub.normalize.stage import stage_source
from hub.registry.formsource import FORM_SOURCE
from hub.registry.loader import Registry
from hub.warehouse import connect, q


@dataclass
class FieldIssue:
    field: str
    severity: str  # "error" blocks saving; "warning" is shown and the entry may be saved
    message: str
    value: str | None


_POOL: queue.Queue[duckdb.DuckDBPyConnection] = queue.Queue()
_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
_SCRATCH_SCHEMAS = ("raw", "staged", "quarantine")


@contextmanager
def scratch() -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """An empty in-memory warehouse and a folder, to stage input as the pipeline would.
    At most one per core at a time: more would only share the same cores slower."""
    with _SLOTS:
        try:
            con = _POOL.get_nowait()
        except queue.Empty:
            con = connect(Path(":memory:"))
            con.execute("SET threads = 1")  # a few rows: threads cost more than they give
        try:
            with tempfile.TemporaryDirectory() as tmp:
                yield con, Path(tmp)
            for schema in _SCRATCH_SCHEMAS:  # empty again for the next user
                con.execute(f"DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}")
        except BaseException:
            con.close()
            raise
        _POOL.put(con)


def _needed(registry: Registry, subs: list[Submission]) -> Registry:
    """The registry with the form source cut to the columns these entries can break a rule
    on: those given a value, fields required even when empty, and their waivers."""
    src = registry.sources[FORM_SOURCE]
    given = {k for s in subs for k, v in s.values.items() if v}
    need = set(given)
    for c in src.mapped:
        rule = registry.fields[c.field or ""].rule("required")
        if rule:
            need |= {c.field or "", rule.waived_by or ""}
    columns = [c for c in src.columns if c.extension or c.field in need]
    cut = src.model_copy(update={"columns": columns})
    return replace(registry, sources=registry.sources | {FORM_SOURCE: cut})


def form_issues(
    con: duckdb.DuckDBPyConnection, registry: Registry, columns: str, order: str
) -> list[tuple[Any, ...]]:
    """Stage the loaded form rows; the `quarantine.issues` they raise."""
    stage_source(con, registry, FORM_SOURCE)
    return con.execute(f"SELECT {columns} FROM quarantine.issues ORDER BY {order}").fetchall()


def check_value(
    registry: Registry, values: dict[str, str], field: str
) -> tuple[list[FieldIssue], Any]:
    """The issues of `field` in an entry of `values` (the resident's identity with it), and
    the value the pipeline makes of it (None when the entry would not be staged): what
    survivorship would compare and choose, e.g. 2025-01-02 of 「2025年1月2日」."""
    subs = [Submission(by="", community="", values=values)]
    registry = _needed(registry, subs)
    with scratch() as (con, tmp):
        body = json.dumps(values, ensure_ascii=False).encode("utf-8")
        store_table(
            con,
            registry.sources[FORM_SOURCE],
            "entry.json",
            body,
            submission_table(registry, subs),
            tmp,
        )
        rows = form_issues(con, registry, "field, severity, message, value", "severity, field")
        got = con.execute(f"SELECT {q(field)} FROM staged.{q(FORM_SOURCE)}").fetchall()
    issues = [FieldIssue(*r) for r in rows if r[0] == field]
    return issues, got[0][0] if got else None


def check_entry(registry: Registry, values: dict[str, str]) -> list[FieldIssue]:
    """Every rule the entry breaks, per field, with the pipeline's Chinese message."""
    return check_submissions(registry, [Submission(by="", community="", values=values)])[0]


def check_submissions(registry: Registry, subs: list[Submission]) -> list[list[FieldIssue]]:
    """Per submission, every rule it breaks: staged together, in one scratch warehouse."""
    out: list[list[FieldIssue]] = [[] for _ in subs]
    if not subs:
        return out
    registry = _needed(registry, subs)
    with scratch() as (con, tmp):
        body = json.dumps([s.values for s in subs], ensure_ascii=False).encode("utf-8")
        table = submission_table(registry, subs)
        store_table(con, registry.sources[FORM_SOURCE], "entry.json", body, table, tmp)
        cols = "source_row, field, severity, message, value"
        rows = form_issues(con, registry, cols, "source_row, severity, field")
    for row, *issue in rows:
        out[row - 1].append(FieldIssue(*issue))
    return out


def blocking(issues: list[FieldIssue]) -> list[FieldIssue]:
    return [i for i in issues if i.severity == "error"]
