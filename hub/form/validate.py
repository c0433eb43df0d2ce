"""Check a form entry with the pipeline's own rules before it is saved.

The entry is staged exactly as a submission would be — in a throwaway in-memory DuckDB, by
`stage_source` — so the web form and the pipeline can never disagree about what is valid.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from hub.form.submissions import Submission, submission_table
from hub.ingest.raw import store_table
from hub.normalize.stage import stage_source
from hub.registry.formsource import FORM_SOURCE
from hub.registry.loader import Registry
from hub.warehouse import connect


@dataclass
class FieldIssue:
    field: str
    severity: str  # "error" blocks saving; "warning" is shown and the entry may be saved
    message: str
    value: str | None


@contextmanager
def scratch() -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A throwaway in-memory warehouse and folder, to stage input as the pipeline would."""
    con = connect(Path(":memory:"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            yield con, Path(tmp)
    finally:
        con.close()


def form_issues(
    con: duckdb.DuckDBPyConnection, registry: Registry, columns: str, order: str
) -> list[tuple[Any, ...]]:
    """Stage the loaded form rows; the `quarantine.issues` they raise."""
    stage_source(con, registry, FORM_SOURCE)
    return con.execute(f"SELECT {columns} FROM quarantine.issues ORDER BY {order}").fetchall()


def check_entry(registry: Registry, values: dict[str, str]) -> list[FieldIssue]:
    """Every rule the entry breaks, per field, with the pipeline's Chinese message."""
    return check_submissions(registry, [Submission(by="", community="", values=values)])[0]


def check_submissions(registry: Registry, subs: list[Submission]) -> list[list[FieldIssue]]:
    """Per submission, every rule it breaks: staged together, in one scratch warehouse."""
    out: list[list[FieldIssue]] = [[] for _ in subs]
    if not subs:
        return out
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
