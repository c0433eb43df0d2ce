"""What staff see of residents: the published snapshot, scoped to one community.

Readers never open the warehouse: this reads the current release's Parquet files and notices
a new release on the next request. Every lookup takes the staff member's community, so a
resident of another community is simply not found.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from hub.form.status import DATASET as FORM_DATASET
from hub.form.status import EMPTY as NO_OUTCOMES
from hub.publish.snapshot import dataset_sql, read_current

SEARCH_LIMIT = 50


@dataclass
class Origin:
    department: str
    observed_at: date | None
    source: str = ""

    @property
    def text(self) -> str:
        when = f" {self.observed_at:%Y-%m}" if self.observed_at else ""
        return f"来自 {self.department}{when}"


@dataclass
class Outcome:
    person_id: str | None
    status: str  # loaded | quarantined
    errors: str | None


class Directory:
    """Lookups over the current published release (thread-safe: one cursor per call)."""

    def __init__(self, published: Path) -> None:
        self.published = published
        self._con = duckdb.connect()
        self._release: int | None = None
        self._published_at = datetime.now(UTC)
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            current = read_current(self.published)
            if current is None:
                raise FileNotFoundError("尚未发布数据：请数据专班先运行 hub run")
            if current["release"] != self._release:
                for name in ("person", "provenance", FORM_DATASET):
                    if name not in current["datasets"]:  # a release from before it existed
                        self._con.execute(f"CREATE OR REPLACE VIEW {name} AS {NO_OUTCOMES}")
                        continue
                    rows = dataset_sql(self.published, name, current)
                    self._con.execute(f"CREATE OR REPLACE VIEW {name} AS {rows}")
                self._release = current["release"]
                self._published_at = datetime.fromisoformat(current["published_at"])
            return self._con.cursor()

    def release(self) -> int | None:
        """The number of the release readers see now."""
        self._cursor()
        return self._release

    def published_on(self) -> date:
        """The (UTC) day of the release readers see now."""
        self._cursor()
        return self._published_at.date()

    def outcomes(self, ids: list[str]) -> dict[str, Outcome]:
        """What a run made of each of these submissions (absent: not taken in yet)."""
        if not ids:
            return {}
        rows = (
            self._cursor()
            .execute(
                f"SELECT submission_id, person_id, status, errors FROM {FORM_DATASET} "
                "WHERE list_contains(?, submission_id)",
                [ids],
            )
            .fetchall()
        )
        return {r[0]: Outcome(*r[1:]) for r in rows}

    def search(self, community: str, text: str) -> list[dict[str, Any]]:
        """Residents of `community` whose name contains `text` or whose ID starts with it."""
        text = text.strip()
        cur = self._cursor()
        rows = cur.execute(
            "SELECT person_id, name, citizen_id, gender, birth_date, current_address FROM person "
            "WHERE community_code = ? AND (? = '' OR contains(name, ?) "
            "OR starts_with(upper(citizen_id), upper(?))) ORDER BY name, person_id LIMIT ?",
            [community, text, text, text, SEARCH_LIMIT],
        ).fetchall()
        cols = ["person_id", "name", "citizen_id", "gender", "birth_date", "current_address"]
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def locate(self, citizen_id: str) -> tuple[str, str | None] | None:
        """(person id, community) of the resident with this ID number, in any community: for
        the server's own checks only, never shown to staff of another community."""
        rows = (
            self._cursor()
            .execute(
                "SELECT person_id, community_code FROM person WHERE citizen_id = ? LIMIT 1",
                [citizen_id.strip().upper()],
            )
            .fetchall()
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def person(self, community: str, person_id: str) -> dict[str, Any] | None:
        """The golden record, or None if there is none in this staff member's community."""
        cur = self._cursor()
        res = cur.execute(
            "SELECT * FROM person WHERE person_id = ? AND community_code = ?",
            [person_id, community],
        )
        cols = [d[0] for d in res.description]
        rows = res.fetchall()
        return dict(zip(cols, rows[0], strict=True)) if rows else None

    def origins(self, person_id: str) -> dict[str, Origin]:
        """Per field, the department and date of the value the golden record holds."""
        cur = self._cursor()
        rows = cur.execute(
            "SELECT field, department, observed_at, source FROM provenance "
            "WHERE person_id = ? AND selected",
            [person_id],
        ).fetchall()
        return {f: Origin(d, None if o is None or o.year < 1901 else o, s) for f, d, o, s in rows}

    def community_sources(self, community: str) -> dict[str, dict[str, str]]:
        """Per resident of `community`, the source of each value the golden record holds."""
        rows = (
            self._cursor()
            .execute(
                "SELECT v.person_id, v.field, v.source FROM provenance v SEMI JOIN "
                "(SELECT person_id FROM person WHERE community_code = ?) p USING (person_id) "
                "WHERE v.selected",
                [community],
            )
            .fetchall()
        )
        out: dict[str, dict[str, str]] = {}
        for pid, f, src in rows:
            out.setdefault(pid, {})[f] = src
        return out

    def community_people(self, community: str) -> list[dict[str, Any]]:
        """Every resident of `community` (for the Excel template), by grid and name."""
        cur = self._cursor()
        res = cur.execute(
            "SELECT * FROM person WHERE community_code = ? ORDER BY grid_code, name, person_id",
            [community],
        )
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]
