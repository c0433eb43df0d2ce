"""From a citizen ID to the opaque person id the access log records."""

from __future__ import annotations

import duckdb

from hub.publish.snapshot import dataset_sql
from hub.settings import Settings


def person_id_of(settings: Settings, citizen_id: str) -> str | None:
    person = dataset_sql(settings.published, "person")
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT person_id FROM ({person}) WHERE citizen_id = upper(?)",
            [citizen_id.strip()],
        ).fetchall()
    return rows[0][0] if rows else None
