"""Which batches of a source are staged, and under which registry: so a run stages only what
is new and re-stages a source only when what its staging reads has changed.

A batch is staged on its own (every rule, unique-in-batch too, looks at one batch), so
staging batches one run at a time gives what staging them all at once would. What staging
reads beyond the batch is in the source's key: its YAML, the fields it maps (and the fields
their rules compare with), the code lists and org units they look up, the raw table's
columns and the header renames seen at load. A changed key re-stages the whole source.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import duckdb

from hub.ingest.batches import renamed_headers
from hub.ingest.holds import ACTIVE_SQL
from hub.registry.loader import Registry
from hub.warehouse import table_columns, table_exists

# bump when staging's SQL changes meaning: every source is then re-staged once
STAGE_VERSION = "2026-12-stage-1"
STATE_DDL = """
CREATE TABLE IF NOT EXISTS staged._stage_state (source VARCHAR PRIMARY KEY, key VARCHAR);
CREATE TABLE IF NOT EXISTS staged._staged_batches (source VARCHAR, batch_id VARCHAR);
"""


@dataclass
class StagePlan:
    full: bool  # re-stage every active batch (first time, or the key changed)
    key: str
    new: list[str] = field(default_factory=list)  # active batches not yet staged
    gone: list[str] = field(default_factory=list)  # staged batches no longer active

    @property
    def idle(self) -> bool:
        return not self.full and not self.new and not self.gone


def stage_key(con: duckdb.DuckDBPyConnection, registry: Registry, source: str) -> str:
    src = registry.sources[source]
    fields = {c.field for c in src.mapped if c.field}
    lists = {
        str(registry.fields[f].codelist)
        for f in fields
        if registry.fields[f].codelist in registry.codelists
    }
    parts: dict[str, object] = {
        "version": STAGE_VERSION,
        "source": src.model_dump(mode="json"),
        "fields": {f: registry.fields[f].model_dump(mode="json") for f in sorted(fields)},
        "codelists": {
            name: registry.codelists[name].model_dump(mode="json") for name in sorted(lists)
        },
        "raw_columns": sorted(table_columns(con, "raw", source)),
        "renamed": renamed_headers(con, source),
    }
    if any(registry.fields[f].normalize == "orgunit" for f in fields):
        parts["orgs"] = registry.orgs.model_dump(mode="json")
        if registry.neighbours:  # a community moved between districts changes which rows load
            parts["elsewhere"] = [t.model_dump(mode="json") for t in registry.neighbours]
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan(con: duckdb.DuckDBPyConnection, registry: Registry, source: str) -> StagePlan:
    con.execute(STATE_DDL)
    key = stage_key(con, registry, source)
    held = con.execute("SELECT key FROM staged._stage_state WHERE source = ?", [source]).fetchall()
    active = _ids(
        con,
        f"SELECT batch_id FROM raw._batches b WHERE source = ? AND {ACTIVE_SQL} ORDER BY batch_id",
        source,
    )
    if not held or held[0][0] != key or not table_exists(con, "staged", source):
        return StagePlan(True, key, new=active)
    staged = _ids(
        con, "SELECT batch_id FROM staged._staged_batches WHERE source = ? ORDER BY 1", source
    )
    return StagePlan(
        False,
        key,
        new=[b for b in active if b not in set(staged)],
        gone=[b for b in staged if b not in set(active)],
    )


def record(con: duckdb.DuckDBPyConnection, source: str, p: StagePlan) -> None:
    """After staging: the source is staged under `p.key` with `p`'s batches applied."""
    if p.full:
        con.execute("DELETE FROM staged._staged_batches WHERE source = ?", [source])
    elif p.gone:
        con.execute(
            "DELETE FROM staged._staged_batches WHERE source = ? AND list_contains(?, batch_id)",
            [source, p.gone],
        )
    if p.new:
        con.executemany(
            "INSERT INTO staged._staged_batches VALUES (?, ?)", [(source, b) for b in p.new]
        )
    con.execute("INSERT OR REPLACE INTO staged._stage_state VALUES (?, ?)", [source, p.key])


def _ids(con: duckdb.DuckDBPyConnection, sql: str, source: str) -> list[str]:
    return [r[0] for r in con.execute(sql, [source]).fetchall()]
