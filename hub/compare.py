"""What two warehouses hold, compared by content: for "an incremental run gives what a full
rebuild gives" (tests and `hub bench incremental`)."""

from __future__ import annotations

from pathlib import Path

from hub.publish.snapshot import dataset_sql, fingerprint_table, read_current
from hub.warehouse import connect, table_exists

CORE = (
    "core.person",
    "core.provenance",
    "core.conflicts",
    "core.links",
    "core.form_submissions",
    "core.link_features",
    "core.link_duplicates",
    "core.link_node_base",
)


def content(data: Path) -> dict[str, tuple[int, str]]:
    """Order-free fingerprints of what runs derive: core (ids included), staged, quarantine,
    and every dataset of the published release."""
    con = connect(data / "warehouse.duckdb", read_only=True)
    try:
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE "
                "table_schema IN ('staged', 'quarantine') AND NOT starts_with(table_name, '_')"
            ).fetchall()
        ]
        tables += [t for t in CORE if table_exists(con, *t.split("."))]
        out = {t: fingerprint_table(con, t) for t in sorted(set(tables))}
        out["quarantine.issues"] = fingerprint_table(con, "quarantine.issues")
        release = read_current(data / "published")
        for name in sorted(release["datasets"] if release else []):
            rows = dataset_sql(data / "published", name, release)
            con.execute(f"CREATE OR REPLACE TEMP VIEW pub AS {rows}")
            out[f"published.{name}"] = fingerprint_table(con, "pub")
        return out
    finally:
        con.close()


def differences(a: Path, b: Path) -> list[str]:
    """What differs between the warehouses and releases under `a` and `b`."""
    x, y = content(a), content(b)
    return sorted(k for k in x.keys() | y.keys() if x.get(k) != y.get(k))
