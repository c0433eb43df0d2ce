"""What the warehouse holds now: per source batches, rows and quarantine; persons; releases."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hub.ingest.holds import HELD, batches
from hub.publish.snapshot import read_current
from hub.registry.loader import Registry
from hub.settings import Settings
from hub.warehouse import q, table_exists, warehouse


def status(settings: Settings, registry: Registry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sources": [],
        "persons": 0,
        "conflicts": 0,
        "linkage": _no_links(),
        "published": None,
        "held": [],
    }
    current = read_current(settings.published)
    if current:
        out["published"] = {
            "release": current["release"],
            "published_at": current["published_at"],
            "datasets": current["datasets"],
        }
    if not settings.warehouse.exists():
        out["sources"] = [_empty(name, src.department) for name, src in registry.sources.items()]
        return out
    with warehouse(settings.warehouse, read_only=True, resources=settings.resources) as con:
        for name, src in registry.sources.items():
            row = _empty(name, src.department)
            if table_exists(con, "raw", "_batches"):
                b, r = con.execute(
                    "SELECT count(*), coalesce(sum(rows), 0) FROM raw._batches WHERE source = ?",
                    [name],
                ).fetchall()[0]
                row.update(batches=int(b), rows=int(r))
            for layer in ("staged", "quarantine"):
                if table_exists(con, layer, name):
                    row[layer] = int(
                        con.execute(f"SELECT count(*) FROM {layer}.{q(name)}").fetchall()[0][0]
                    )
            if table_exists(con, "quarantine", "issues"):
                row["warnings"] = int(
                    con.execute(
                        "SELECT count(*) FROM quarantine.issues WHERE source = ? AND severity = 'warning'",
                        [name],
                    ).fetchall()[0][0]
                )
            out["sources"].append(row)
        if table_exists(con, "raw", "_batches"):
            out["held"] = [asdict(b) for b in batches(con, HELD)]
        for key, table in (("persons", "person"), ("conflicts", "conflicts")):
            if table_exists(con, "core", table):
                out[key] = int(con.execute(f"SELECT count(*) FROM core.{table}").fetchall()[0][0])
        if table_exists(con, "core", "links"):
            out["linkage"] = _linkage(con)
    return out


def _no_links() -> dict[str, int]:
    return {
        "by_id": 0,
        "probabilistic": 0,
        "reviewed": 0,
        "alone": 0,
        "review_pairs": 0,
        "duplicates": 0,
        "capped": 0,
    }


def _linkage(con: Any) -> dict[str, int]:
    """Rows by how they were linked, and pairs waiting in `hub review`."""
    out = _no_links()
    for method, n in con.execute("SELECT method, count(*) FROM core.links GROUP BY 1").fetchall():
        key = {"id": "by_id", "review": "reviewed"}.get(method, method)
        out[key] = int(n)
    for key, table in (
        ("review_pairs", "review_queue"),
        ("duplicates", "link_duplicates"),
        ("capped", "link_capped"),
    ):
        if table_exists(con, "core", table):
            out[key] = int(con.execute(f"SELECT count(*) FROM core.{table}").fetchall()[0][0])
    return out


def _empty(name: str, department: str) -> dict[str, Any]:
    return {
        "source": name,
        "department": department,
        "batches": 0,
        "rows": 0,
        "staged": 0,
        "quarantine": 0,
        "warnings": 0,
    }
