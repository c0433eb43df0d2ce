"""Review decisions: a person's verdict on a pair the model was unsure of.

Kept outside the warehouse (only the pipeline writes there), one JSON line per decision,
appended and flushed to disk; the last decision on a pair wins. A pair is named by the two
records' stable keys (a department row: `source|batch|row`, where the batch id comes from
the file's content; a person known by ID: `id:<citizen id>`), so a decision keeps applying
on every later run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

DECISIONS = ("accept", "reject")


@dataclass(frozen=True)
class Decision:
    left: str
    right: str
    decision: str  # accept | reject
    by: str
    at: str
    note: str = ""


def pair(a: str, b: str) -> tuple[str, str]:
    """The same two records in a fixed order."""
    return (a, b) if a <= b else (b, a)


def record(path: Path, left: str, right: str, decision: str, by: str, note: str = "") -> Decision:
    """Append one decision durably (flushed and synced before returning)."""
    if decision not in DECISIONS:
        raise ValueError(f"决定只能是 accept（同一人）或 reject（不是同一人），收到 {decision!r}")
    a, b = pair(left, right)
    d = Decision(a, b, decision, by, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), note)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return d


def latest(path: Path) -> dict[tuple[str, str], Decision]:
    """The decision in force for each pair; a torn last line (a crash mid-write) is skipped."""
    out: dict[tuple[str, str], Decision] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            d = Decision(**json.loads(line))
        except (ValueError, TypeError):
            continue
        out[pair(d.left, d.right)] = d
    return out


def load_decisions(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The decisions in force as the temp table `link_decisions(a, b, accept)`."""
    ds = list(latest(path).values())
    table = pa.table(
        {
            "a": pa.array([d.left for d in ds], pa.string()),
            "b": pa.array([d.right for d in ds], pa.string()),
            "accept": pa.array([d.decision == "accept" for d in ds], pa.bool_()),
        }
    )
    con.register("_decisions_src", table)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE link_decisions AS SELECT * FROM _decisions_src")
    finally:
        con.unregister("_decisions_src")
    return len(ds)
