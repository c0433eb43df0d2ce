"""What must hold of the core before it is published."""

from __future__ import annotations

import duckdb

from hub.core.changes import unpublished
from hub.warehouse import one


def publish_guards(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Reasons not to publish: a broken golden-record key (a fault of the hub itself).

    Row faults never stop the district (their rows are quarantined or flagged), and a whole
    batch that looks wrong is held back on its own at load (hub.ingest.holds), so the rest
    publishes. `hub run` and the Dagster asset both call this.

    Only the persons changed since the last release are checked (each ID of theirs against
    every person): the others passed when that release was made, and a run that is blocked
    leaves its persons unpublished, so the next run checks them again."""
    reasons = []
    persons = unpublished(con)
    mine = (
        "core.person" if persons is None else f"(FROM core.person WHERE person_id IN ({persons}))"
    )
    ids = (
        "core.person"
        if persons is None
        else f"(FROM core.person WHERE citizen_id IN (SELECT citizen_id FROM {mine}))"
    )
    dup_person, dup, bad = one(
        con,
        f"SELECT (SELECT count(*) - count(DISTINCT person_id) FROM {mine}), "
        f"(SELECT count(citizen_id) - count(DISTINCT citizen_id) FROM {ids}), "
        f"(SELECT count(*) FILTER (WHERE hub_id_problem(citizen_id) IS NOT NULL) FROM {mine})",
    )
    if dup_person or dup or bad:
        reasons.append(
            f"core.person：{dup_person} 个重复的人员编号，{dup} 个重复的身份证号码，"
            f"{bad} 个无效的身份证号码"
        )
    return reasons
