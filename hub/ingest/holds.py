"""Whole-batch conditions: the only thing that holds data back, and then only that source's
new batch. A full roster (the 公安 household register, say) whose new batch has far fewer
rows than its last one was probably cut short on export: its batch is held, the district
publishes with the source's last good batch, and the data team releases or rejects it.

A batch's status lives in `raw._batches`: active (staged), held, rejected. Of a full
snapshot's active batches only the newest counts (`current_batches`): the earlier ones are
superseded, still staged for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from hub.registry.models import Source

ACTIVE, HELD, REJECTED = "active", "held", "rejected"
STATUS_LABEL = {ACTIVE: "已采用", HELD: "暂缓（待决定）", REJECTED: "已拒收"}
ACTIVE_SQL = f"coalesce(b.status, '{ACTIVE}') = '{ACTIVE}'"  # over raw._batches aliased b


@dataclass
class Batch:
    batch_id: str
    source: str
    file_name: str
    rows: int
    loaded_at: datetime
    status: str
    reason: str | None
    decided_by: str | None


def hold_reason(
    con: duckdb.DuckDBPyConnection, src: Source, rows: int, min_share: float
) -> str | None:
    """Why a new batch of `rows` rows must wait, or None (only full rosters are judged)."""
    if src.snapshot != "full":
        return None
    last = con.execute(
        "SELECT rows, file_name FROM raw._batches b WHERE source = ? AND "
        f"{ACTIVE_SQL} ORDER BY loaded_at DESC, batch_id DESC LIMIT 1",
        [src.name],
    ).fetchall()
    if not last or rows >= min_share * last[0][0]:
        return None
    prev, name = last[0]
    return (
        f"全量名册本批只有 {rows} 行，不足上一批（{name}，{prev} 行）的 {min_share:.0%}："
        "可能是导出不完整，已暂缓采用，仍沿用上一批"
    )


def current_batches(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> str:
    """Create the temp table `hub_current(source, batch_id)`: the batches whose rows count
    now. Every active batch of a delta source; of a full snapshot the newest active one (by
    period, then loading), so a resident it no longer lists is off that roster. Returns its
    name."""
    full = [s.name for s in sources.values() if s.snapshot == "full"]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hub_current AS SELECT source, batch_id FROM raw._batches b "
        f"WHERE {ACTIVE_SQL} AND (NOT list_contains(?, source) OR batch_id = (SELECT "
        "arg_max(n.batch_id, (n.observed_at, n.loaded_at, n.batch_id)) FROM raw._batches n "
        f"WHERE n.source = b.source AND {ACTIVE_SQL.replace('b.', 'n.')}))",
        [full],
    )
    return "hub_current"


def batches(con: duckdb.DuckDBPyConnection, status: str | None = None) -> list[Batch]:
    sql = (
        "SELECT batch_id, source, file_name, rows, loaded_at, coalesce(status, 'active'), "
        "status_reason, decided_by FROM raw._batches b"
    )
    if status is not None:
        sql += f" WHERE coalesce(status, '{ACTIVE}') = ?"
    rows = con.execute(sql + " ORDER BY loaded_at, batch_id", [status] if status else []).fetchall()
    return [Batch(*r) for r in rows]


def decide(
    con: duckdb.DuckDBPyConnection, batch: str, action: str, by: str, reason: str = ""
) -> Batch:
    """Release a held batch (it is staged from the next run on) or reject it (never staged)."""
    found = [b for b in batches(con) if b.batch_id == batch]
    if not found:
        raise LookupError(f"没有批次 {batch}（hub batch list 列出全部批次）")
    if found[0].status != HELD:
        raise LookupError(f"批次 {batch} 不是暂缓状态（现在：{STATUS_LABEL[found[0].status]}）")
    status = ACTIVE if action == "release" else REJECTED
    why = reason or ("数据专班决定采用" if status == ACTIVE else "数据专班拒收")
    con.execute(
        "UPDATE raw._batches SET status = ?, status_reason = ?, decided_by = ?, decided_at = ? "
        "WHERE batch_id = ?",
        [status, why, by, datetime.now().replace(microsecond=0), batch],
    )
    return next(b for b in batches(con) if b.batch_id == batch)
