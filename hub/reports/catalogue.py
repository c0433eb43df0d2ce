"""The report catalogue (报表目录清单): every report the hub knows, with its burden.

A report in the registry is 在用 or 已停用 (its YAML says which); a proposal not yet let in is
待审, 已驳回 or 改为共享. Burden is fields × rows × periods a year, rows counted on the published
golden records. A report in use that nobody generated, or nobody downloaded, for
`review_after_periods` of its periods is flagged for review.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from hub.registry.loader import Registry
from hub.registry.reports import Condition
from hub.reports.build import Period, population_sql
from hub.reports.generate import open_published_person
from hub.reports.population import describe_population
from hub.reports.proposals import proposals
from hub.reports.usage import last_uses, uses
from hub.settings import Settings

PER_YEAR = {"monthly": 12, "quarterly": 4, "yearly": 1}
MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
PROPOSAL_STATUS = {"open": "待审", "declined": "已驳回", "shared": "改为共享"}


@dataclass
class Entry:
    name: str  # the report's name, or the proposal's id
    department: str
    title: str
    basis: str | None
    period: str
    population: str
    fields: list[str]  # labels
    status: str  # 在用 / 已停用 / 待审 / 已驳回 / 改为共享
    approved_by: str | None
    approved_at: str | None
    rows: int | None
    entries_per_year: int | None  # fields × rows × periods a year
    last_generated: str | None = None
    last_downloaded: str | None = None
    review: str | None = None  # why it is flagged for review

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def catalogue(settings: Settings, registry: Registry, today: date | None = None) -> list[Entry]:
    today = today or date.today()
    reports = list(registry.reports.values())
    rows = _rows(settings, registry, [r.population for r in reports], today)
    last = last_uses(settings.reports)
    started = min((str(u.get("at", "")) for u in uses(settings.reports)), default=None)
    out = []
    for rep, n in zip(reports, rows, strict=True):
        e = Entry(
            name=rep.name,
            department=rep.department,
            title=rep.title,
            basis=rep.basis,
            period=rep.period,
            population=describe_population(rep.population, registry),
            fields=[registry.fields[f].label for f in rep.fields],
            status=rep.status,
            approved_by=rep.approved_by,
            approved_at=rep.approved_at.isoformat() if rep.approved_at else None,
            rows=n,
            entries_per_year=None if n is None else n * len(rep.fields) * PER_YEAR[rep.period],
            last_generated=last.get((rep.name, "generated")),
            last_downloaded=last.get((rep.name, "downloaded")),
        )
        since = max(filter(None, [started, e.approved_at]), default=None)
        e.review = _review(e, since, registry.catalogue.review_after_periods, today)
        out.append(e)
    for req in proposals(settings):
        if req.status not in PROPOSAL_STATUS:
            continue  # an approved proposal is in the registry, listed above
        a = req.payload["analysis"]
        out.append(
            Entry(
                name=req.id[:12],
                department=a["department"],
                title=a["title"],
                basis=None,
                period=a["period"],
                population=a["population_text"],
                fields=[
                    c["label"] or c["header"] for c in a["columns"] if c["status"] != "computed"
                ],
                status=PROPOSAL_STATUS[req.status],
                approved_by=req.decided_by,
                approved_at=req.decided_at,
                rows=a["rows"],
                entries_per_year=a["cost"]["without_hub"]["entries_per_year"]
                if a["rows"] is not None
                else None,
            )
        )
    return out


def _review(e: Entry, since: str | None, periods: int, today: date) -> str | None:
    """Why a report in use should be reviewed: not generated, or not downloaded, within the
    last `periods` of its periods (a catalogue younger than that is not judged yet)."""
    if e.status != "在用":
        return None
    cutoff = (today - timedelta(days=round(30.44 * MONTHS[e.period] * periods))).isoformat()
    if since is None or since[:10] > cutoff:
        return None
    unit = {"monthly": "个月", "quarterly": "个季度", "yearly": "年"}[e.period]
    if (e.last_generated or "")[:10] < cutoff:
        return f"近 {periods} {unit}未生成"
    if (e.last_downloaded or "")[:10] < cutoff:
        return f"近 {periods} {unit}无人下载"
    return None


def _rows(
    settings: Settings, registry: Registry, populations: list[list[Condition]], today: date
) -> list[int | None]:
    """Residents in each population, on the published golden records (None: none published)."""
    if not populations:
        return []
    with duckdb.connect() as con:
        try:
            open_published_person(con, settings)
        except FileNotFoundError:
            return [None] * len(populations)
        have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE person)").fetchall()}
        end = Period.of(today).end
        parts = [
            f"count(*) FILTER (WHERE {population_sql(conds, registry, end, have)})"
            for conds in populations
        ]
        got = con.execute(f"SELECT {', '.join(parts)} FROM person p").fetchone() or ()
        return [int(n) for n in got]


def stamp(at: str | None) -> str:
    """An ISO time as the catalogue shows it (to the minute)."""
    if not at:
        return "—"
    try:
        return datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return at
