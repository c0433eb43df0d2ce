"""Form submissions: the web app appends them to their own store; the pipeline loads them.

The store is one JSON line per submission in `data/submissions/<day>.jsonl`, written with
O_APPEND and fsync before the web app answers: a submission the user saw accepted is on
disk even if the server is killed the next moment, and nothing the pipeline does touches
it. The pipeline takes the submissions it has not loaded yet (by submission id) as a new
batch of the form source; a line still being written (no newline yet) waits for the next run.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from hub.ingest.raw import LoadResult, store_table
from hub.registry.formsource import FORM_SOURCE, PERSON_REF, SUBMISSION, SUBMITTED_BY
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


def append(folder: Path, sub: Submission) -> Path:
    """Write one submission durably; returns the file it went to."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sub.at[:10]}.jsonl"
    line = (json.dumps(asdict(sub), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)  # one write of one line: appends from two requests never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_all(folder: Path) -> list[Submission]:
    """Every complete submission in the store, oldest first."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        data = path.read_bytes()
        complete = data[
            : data.rfind(b"\n") + 1
        ]  # a line without its newline is still being written
        for line in complete.decode("utf-8").splitlines():
            try:
                out.append(Submission(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # a torn line from a crash before fsync: the user was never told it saved
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
    cols |= {PERSON_REF: [], SUBMISSION: [], SUBMITTED_BY: []}
    for s in subs:
        for name, header in labels.items():
            cols[header].append(s.values.get(name) or None)
        cols[PERSON_REF].append(s.person_id)
        cols[SUBMISSION].append(s.id)
        cols[SUBMITTED_BY].append(s.by)
    return pa.table({h: pa.array(v, pa.string()) for h, v in cols.items()})
