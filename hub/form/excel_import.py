"""A filled template (or any file of the form source) checked and handed to the pipeline.

The file is loaded and staged exactly as the pipeline will — in a throwaway in-memory
DuckDB — so the problems listed per row and cell are the ones the run would quarantine or
flag. The file then goes to the incoming folder unchanged; good rows load, bad rows are
quarantined with the same messages, nothing is lost.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hub.form.validate import form_issues, scratch
from hub.ingest.raw import load_file, match_source
from hub.registry.formsource import FORM_SOURCE
from hub.registry.loader import Registry


@dataclass
class CellIssue:
    row: int  # the row number in the file, as staff see it in Excel (the loader's source row)
    column: str  # the header in the file
    severity: str
    message: str
    value: str | None


@dataclass
class ImportCheck:
    file: str
    rows: int = 0
    rejected: str | None = None  # why the whole file cannot load, if it cannot
    issues: list[CellIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(i.severity == "error" for i in self.issues)

    @property
    def bad_rows(self) -> int:
        return len({i.row for i in self.issues if i.severity == "error"})


def check_file(registry: Registry, path: Path, name: str | None = None) -> ImportCheck:
    """Load and stage a copy of `path` (named `name`) as the form source; list its problems."""
    name = name or path.name
    out = ImportCheck(name)
    with scratch() as (con, tmp):
        copy = tmp / name
        shutil.copyfile(path, copy)
        result = load_file(con, registry, registry.sources[FORM_SOURCE], copy, tmp / "archive")
        out.notes = result.notes
        if result.status != "loaded":
            out.rejected = result.message
            return out
        out.rows = result.rows
        cols = "source_row, column_header, severity, message, value"
        rows = form_issues(con, registry, cols, "source_row, column_header")
    out.issues = [CellIssue(r, h or "", s, m, v) for r, h, s, m, v in rows]
    return out


def hand_over(registry: Registry, path: Path, incoming: Path, name: str) -> Path:
    """Put the file where the next pipeline run picks it up (atomically: no half file)."""
    if match_source(registry, name) is not registry.sources[FORM_SOURCE]:
        raise ValueError(f"文件名 {name} 不符合社区一张表的命名（社区一张表_*.xlsx 或 .csv）")
    incoming.mkdir(parents=True, exist_ok=True)
    target = incoming / name
    tmp = incoming / f".{name}.part"  # hidden: the loader skips dot files
    shutil.copyfile(path, tmp)
    tmp.replace(target)
    return target
