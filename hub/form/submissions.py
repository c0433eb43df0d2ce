"""Form submissions: the web app appends them to their own store; the pipeline loads them.

The store is one JSON line per submission in `data/submissions/<day>.jsonl`, written with
O_APPEND and fsync before the web app answers: a submission the user saw accepted is on
disk even if the server is killed the next moment, and nothing the pipeline does touches
it. The pipeline takes the submissions it has not loaded yet (by submission id) as a new
batch of the form source; a line still being written (no newline yet) waits for the next run.
"""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hub.ingest.raw import LoadResult, store_table
from hub.jsonl import append_line, read_lines
from hub.registry.formsource import (
    CHANGED,
    FORM_SOURCE,
    PERSON_REF,
    SUBMISSION,
    SUBMITTED_BY,
)
from hub.registry.loader import Registry
from hub.warehouse import q, table_columns, table_exists


@dataclass
class Submission:
    by: str  # staff user name
    community: str  # the community code the staff member serves
    values: dict[str, str]  # field name -> value as entered (codes for code fields)
    person_id: str | None = None  # None: a new resident
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%dT%H:%M:%S"))
    # the fields this submission asserts; the other values only identify the resident
    # (None, in lines from before this was recorded: every value)
    changed: list[str] | None = None
    # where it came from besides the web form, e.g. {"file": ..., "row": 17} for a template row
    origin: dict[str, Any] | None = None


def append(folder: Path, sub: Submission) -> Path:
    """Write one submission durably; returns the file it went to."""
    path = folder / f"{sub.at[:10]}.jsonl"
    append_line(path, asdict(sub))
    return path


@contextmanager
def _store_lock(folder: Path) -> Iterator[None]:
    """One writer at a time across the web app's threads and processes (an advisory lock)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def append_new(folder: Path, subs: list[Submission], since: date | None = None) -> list[Submission]:
    """Append the submissions whose id is not stored yet; returns those written.

    The id is the idempotency key: a second click on 提交 (the page's key) or a re-imported
    template row (a key derived from its content) files nothing new. `since` limits the look
    back to day files from that date on (a page's key lives one working day).
    """
    with _store_lock(folder):
        stored = {s.id for s in read_all(folder, since)}
        fresh = []
        for sub in subs:
            if sub.id not in stored:
                append(folder, sub)
                stored.add(sub.id)
                fresh.append(sub)
    return fresh


def read_all(folder: Path, since: date | None = None) -> list[Submission]:
    """Every complete submission in the store (from day files of `since` on), oldest first."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        if since is None or path.stem >= since.isoformat():
            out += _read_day(path)
    return out


def find(folder: Path, submission_id: str, since: date | None = None) -> Submission | None:
    """One stored submission by id (in day files of `since` on), newest day files first."""
    for path in sorted(folder.glob("*.jsonl"), reverse=True):
        if since is not None and path.stem < since.isoformat():
            break
        hit = [s for s in _read_day(path) if s.id == submission_id]
        if hit:
            return hit[0]
    return None


def _read_day(path: Path) -> list[Submission]:
    out = []
    for doc in read_lines(path):
        try:
            out.append(Submission(**doc))
        except TypeError:
            continue  # not a submission line
    return out


def load_submissions(
    con: duckdb.DuckDBPyConnection, registry: Registry, folder: Path, archive: Path
) -> LoadResult | None:
    """Submissions not loaded yet, as one new batch of the form source (None if none)."""
    seen: set[str] = set()
    if table_exists(con, "raw", FORM_SOURCE) and SUBMISSION in table_columns(
        con, "raw", FORM_SOURCE
    ):
        seen = {
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT {q(SUBMISSION)} FROM raw.{FORM_SOURCE}"
            ).fetchall()
        }
    new = [s for s in read_all(folder) if s.id not in seen]
    if not new:
        return None
    src = registry.sources[FORM_SOURCE]
    # newest first: survivorship takes a batch's first row for a person, so their latest edit
    table = submission_table(registry, list(reversed(new)))
    body = "\n".join(json.dumps(asdict(s), ensure_ascii=False) for s in new).encode("utf-8")
    name = f"{FORM_SOURCE}_{new[-1].id[:8]}.jsonl"
    # the values were true when submitted: dated by the last submission, not by a file name
    observed = date.fromisoformat(new[-1].at[:10])
    return store_table(con, src, name, body, table, archive, observed)


def submission_table(registry: Registry, subs: list[Submission]) -> pa.Table:
    """Submissions as rows of the form source, under its headers (the fields' labels)."""
    src = registry.sources[FORM_SOURCE]
    labels = {c.field: c.header for c in src.columns if c.field}
    cols: dict[str, list[str | None]] = {h: [] for h in labels.values()}
    cols |= {PERSON_REF: [], SUBMISSION: [], SUBMITTED_BY: [], CHANGED: []}
    for s in subs:
        for name, header in labels.items():
            cols[header].append(s.values.get(name) or None)
        cols[PERSON_REF].append(s.person_id)
        cols[SUBMISSION].append(s.id)
        cols[SUBMITTED_BY].append(s.by)
        cols[CHANGED].append(None if s.changed is None else ",".join(s.changed))
    return pa.table({h: pa.array(v, pa.string()) for h, v in cols.items()})
