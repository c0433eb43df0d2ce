"""Check a form entry with the pipeline's own rules before it is saved.

The entry is staged exactly as a submission would be — in a throwaway in-memory DuckDB, by
`stage_source` — so the web form and the pipeline can never disagree about what is valid.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


def check_entry(registry: Registry, values: dict[str, str]) -> list[FieldIssue]:
    """Every rule the entry breaks, per field, with the pipeline's Chinese message."""
    entry = Submission(by="", community="", values=values)
    src = registry.sources[FORM_SOURCE]
    con = connect(Path(":memory:"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            body = json.dumps(values, ensure_ascii=False).encode("utf-8")
            table = submission_table(registry, [entry])
            store_table(con, src, "entry.json", body, table, Path(tmp))
        stage_source(con, registry, FORM_SOURCE)
        rows = con.execute(
            "SELECT field, severity, message, value FROM quarantine.issues ORDER BY severity, field"
        ).fetchall()
    finally:
        con.close()
    return [FieldIssue(*r) for r in rows]


def blocking(issues: list[FieldIssue]) -> list[FieldIssue]:
    return [i for i in issues if i.severity == "error"]
