"""`hub burden`: what the department reports ask of community staff, before and after the one
form, computed from the report definitions and the golden records.

Before: every report is filled separately, every period: rows x fields of each report,
counted per month (a quarterly report counts a third, a yearly one a twelfth).
After: each field a resident's reports need is asked once per period of the most frequent
report needing it, and only where the hub does not already hold a value from department
data (prefilled values that have not changed need no entry).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from hub.registry.loader import Registry
from hub.registry.reports import PER_MONTH
from hub.reports.build import Period, population_sql
from hub.warehouse import lit, q


def burden(con: duckdb.DuckDBPyConnection, registry: Registry, period: Period) -> dict[str, Any]:
    """Figures over the `person` relation on `con` (the published golden records)."""
    have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE person)").fetchall()}
    reports = []
    before = 0.0
    needed_parts = []
    for rep in registry.reports.values():
        fields = [f for f in rep.fields if f in have]
        where = population_sql(rep.population, registry, period.end)
        rows = int(con.execute(f"SELECT count(*) FROM person p WHERE {where}").fetchall()[0][0])
        per_month = rows * len(rep.fields) * PER_MONTH[rep.period]
        before += per_month
        reports.append(
            {
                "name": rep.name,
                "title": rep.title,
                "department": rep.department,
                "period": rep.period,
                "fields": len(rep.fields),
                "rows": rows,
                "entries_per_month": round(per_month, 1),
            }
        )
        if fields and rows:
            needed_parts.append(
                f"SELECT p.person_id, unnest([{', '.join(lit(f) for f in fields)}]) AS field, "
                f"{PER_MONTH[rep.period]} AS per_month FROM person p WHERE {where}"
            )
    once, unknown = _after(con, needed_parts, have)
    # registry order, so ties list the same way every time
    uses = Counter(f for rep in registry.reports.values() for f in dict.fromkeys(rep.fields))
    return {
        "period": period.key,
        "reports": reports,
        "fields_asked": {
            "before": sum(len(r.fields) for r in registry.reports.values()),
            "after": len(uses),
        },
        "entries_per_month": {
            "before": round(before, 1),
            "after_each_field_once": once,
            "after": unknown,
        },
        "reduction_percent": round(100 * (1 - unknown / before), 1) if before else 0.0,
        "most_duplicated": [
            {
                "field": f,
                "label": registry.fields[f].label,
                "reports": n,
                "titles": [r.title for r in registry.reports.values() if f in r.fields],
            }
            for f, n in uses.most_common(10)
            if n > 1
        ],
    }


def _after(con: duckdb.DuckDBPyConnection, parts: list[str], have: set[str]) -> tuple[float, float]:
    """Entries per month once each (resident, field) pair is asked once, at the frequency of
    the most frequent report needing it: all such pairs, and those with no known value."""
    if not parts:
        return 0.0, 0.0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _needed AS SELECT person_id, field, max(per_month) AS per_month "
        "FROM (" + " UNION ALL ".join(parts) + ") GROUP BY ALL"
    )
    cols = sorted(c for c in have if c != "person_id")
    casts = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in cols)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _known AS SELECT person_id, field FROM (UNPIVOT "
        f"(SELECT person_id, {casts} FROM person) ON {', '.join(q(c) for c in cols)} "
        "INTO NAME field VALUE v)"
    )
    once, unknown = con.execute(
        "SELECT coalesce(sum(n.per_month), 0), coalesce(sum(n.per_month) FILTER (WHERE k.person_id IS NULL), 0) "
        "FROM _needed n LEFT JOIN _known k USING (person_id, field)"
    ).fetchall()[0]
    return round(float(once), 1), round(float(unknown), 1)
