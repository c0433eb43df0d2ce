"""Flow-back figures (数据回流) for `hub burden`: what the departments' data gave back to each
community in a period, and what the 报表准入 decisions saved.

Per community, from the access log and the data:
    records_returned   residents whose department-held values staff were shown prefilled
                       (a resident's page, or the community's Excel template)
    fields_prefilled   those (resident, field) values
    fields_verified    of them, the ones staff left as they were (no submission changed them)
    corrections_filed / corrections_accepted   纠错回流 requests the community filed
District-wide: proposals approved, rejected and turned into shares in the period, and the
entries a year those decisions avoided (a rejected or shared report: all it would have cost;
an approved one: what it costs without the hub less what it costs with it).

The values are judged by the current release's provenance (a value a department holds now).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from hub.core.observations import DERIVED_SOURCE
from hub.form.corrections import corrections
from hub.form.submissions import read_all
from hub.publish.snapshot import dataset_sql, read_current
from hub.registry.formsource import FORM_SOURCE
from hub.registry.loader import Registry
from hub.reports.build import Period
from hub.reports.proposals import proposals
from hub.settings import Settings
from hub.share.audit import log_path
from hub.warehouse import lit, temp_table
from hub.web.accounts import load_staff

# what a staff read shows prefilled (the access log's `filter` starts with one of these)
RESIDENT_PAGE = "打开居民"
TEMPLATE = "下载本社区预填模板"


_EMPTY: dict[str, Any] = {
    "community": "",
    "name": "",
    "records_returned": 0,
    "fields_prefilled": 0,
    "fields_verified": 0,
    "corrections_filed": 0,
    "corrections_accepted": 0,
}


def flow_back(settings: Settings, registry: Registry, period: Period) -> dict[str, Any]:
    start, end = date(period.year, period.month, 1).isoformat(), period.end.isoformat()
    communities = {c.code: c.name for c in registry.orgs.communities}
    figures = {
        code: _EMPTY | {"community": code, "name": name} for code, name in communities.items()
    }
    for code, counts in _prefilled(settings, start, end).items():
        if code in figures:
            figures[code] |= counts
    for r in corrections(settings.requests):
        if r.from_unit in figures and start <= r.at[:10] <= end:
            figures[r.from_unit]["corrections_filed"] += 1
            figures[r.from_unit]["corrections_accepted"] += int(r.status == "accepted")
    rows = list(figures.values())
    keys = [k for k in _EMPTY if k not in ("community", "name")]
    return {
        "period": period.key,
        "communities": rows,
        "totals": {k: sum(int(r[k]) for r in rows) for k in keys},
        "proposals": _decisions(settings, start, end),
    }


def _prefilled(settings: Settings, start: str, end: str) -> dict[str, dict[str, int]]:
    """Per community: residents, values shown prefilled from departments' data, and values
    left unchanged, in the period (set at a time over the access log and the release)."""
    log = log_path(settings.audit)
    if not log.exists() or read_current(settings.published) is None:
        return {}
    staff = [(u.username, u.community) for u in load_staff(settings.users).values() if u.community]
    changed = [
        (s.person_id, f, s.community)
        for s in read_all(settings.submissions, since=date.fromisoformat(start))
        if s.person_id and start <= s.at[:10] <= end
        for f in (s.changed if s.changed is not None else s.values)
    ]
    with duckdb.connect() as con:
        temp_table(con, "_staff", ["username", "community"], staff)
        temp_table(con, "_changed", ["person_id", "field", "community"], changed)
        prov = dataset_sql(settings.published, "provenance")
        departmental = f"source NOT IN ({lit(FORM_SOURCE)}, {lit(DERIVED_SOURCE)})"
        columns = ", ".join(
            f"'{c}': '{t}'"
            for c, t in (
                ("user", "VARCHAR"),
                ("channel", "VARCHAR"),
                ("status", "VARCHAR"),
                ("filter", "VARCHAR"),
                ("at", "VARCHAR"),
                ("persons", "VARCHAR[]"),
                ("fields", "VARCHAR[]"),
            )
        )
        reads = (
            f'SELECT "user" AS who, persons, fields FROM read_json({lit(str(log))}, '
            f"format = 'newline_delimited', ignore_errors = true, columns = {{{columns}}}) "
            f"WHERE channel = 'web' AND status = 'ok' "
            f'AND "at"[:10] BETWEEN {lit(start)} AND {lit(end)} '
            f'AND (starts_with("filter", {lit(RESIDENT_PAGE)}) OR "filter" = {lit(TEMPLATE)})'
        )
        # every resident of a read with every field of it (two unnests in one SELECT would
        # pair them up instead)
        con.execute(
            "CREATE TEMP TABLE _shown AS SELECT DISTINCT s.community, r.person_id, r.field "
            "FROM (SELECT who, person_id, unnest(fields) AS field FROM ("
            f"SELECT who, unnest(persons) AS person_id, fields FROM ({reads}))) r "
            "JOIN _staff s ON s.username = r.who "
            f"SEMI JOIN (SELECT person_id, field FROM ({prov}) WHERE selected AND {departmental}) v "
            "ON v.person_id = r.person_id AND v.field = r.field"
        )
        got = con.execute(
            "SELECT community, count(DISTINCT person_id), count(*), count(*) FILTER (WHERE NOT "
            "EXISTS (SELECT 1 FROM _changed c WHERE c.person_id = s.person_id "
            "AND c.field = s.field AND c.community = s.community)) FROM _shown s GROUP BY 1"
        ).fetchall()
    return {
        str(c): {"records_returned": int(p), "fields_prefilled": int(n), "fields_verified": int(v)}
        for c, p, n, v in got
    }


def _decisions(settings: Settings, start: str, end: str) -> dict[str, Any]:
    out = {"approved": 0, "rejected": 0, "shared": 0, "entries_per_year_avoided": 0}
    for r in proposals(settings):
        if r.status == "open" or not start <= (r.decided_at or "")[:10] <= end:
            continue
        cost = r.payload["analysis"]["cost"]
        without = int(cost["without_hub"]["entries_per_year"])
        if r.status == "accepted":
            out["approved"] += 1
            out["entries_per_year_avoided"] += without - int(cost["with_hub"]["entries_per_year"])
        else:
            out["rejected" if r.status == "declined" else "shared"] += 1
            out["entries_per_year_avoided"] += without
    return out
