"""`hub report generate`: every department's report for a period, from the published data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from hub.publish.snapshot import dataset_sql, read_current
from hub.registry.loader import Registry
from hub.registry.reports import Report
from hub.reports.build import Period, load_labels, report_rows
from hub.reports.usage import log_use
from hub.reports.write import Issued, file_stem, write_csv, write_xlsx
from hub.settings import Settings


@dataclass
class ReportResult:
    name: str
    department: str
    title: str
    period: str
    rows: int
    xlsx: Path
    csv: Path
    release: int


def issuer_of(registry: Registry, report: Report) -> str:
    """制表单位: as the report names it, else the department's office in this district."""
    return report.issuer or f"{registry.orgs.district.name}{report.department}"


def open_published_person(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """The view `person` over the current published snapshot; returns its release number."""
    current = read_current(settings.published)
    if current is None:
        raise FileNotFoundError("尚未发布数据：请先运行 hub run")
    person = dataset_sql(settings.published, "person", current)
    con.execute(f"CREATE OR REPLACE VIEW person AS {person}")
    return int(current["release"])


def selected(registry: Registry, department: str | None) -> list[Report]:
    """Reports of `department` (its name, or a report's name); all when None."""
    in_use = [r for r in registry.reports.values() if r.status == "在用"]
    if department is None:
        return in_use
    dept = registry.departments.resolve(department)  # 卫健委 is 卫生健康局
    name = dept.name if dept else department
    chosen = [r for r in in_use if name in (r.department, r.name)]
    if not chosen:
        known = "、".join(sorted({r.department for r in registry.reports.values()}))
        raise LookupError(f"没有部门或报表 {department!r}（现有部门：{known}）")
    return chosen


def generate_reports(
    settings: Settings,
    registry: Registry,
    period: Period,
    department: str | None = None,
    by: str = "hub report generate",
) -> list[ReportResult]:
    reports = selected(registry, department)
    out = []
    with duckdb.connect() as con:
        release = open_published_person(con, settings)
        load_labels(con, registry)
        for report in reports:
            table = report_rows(con, report, registry, period)
            folder = settings.reports / period.key / file_stem(report.department)
            folder.mkdir(parents=True, exist_ok=True)
            label = period.label(report.period)
            stem = file_stem(f"{report.title}_{label}")
            xlsx, csv = folder / f"{stem}.xlsx", folder / f"{stem}.csv"
            issued = Issued(issuer_of(registry, report), date.today(), report.signatures)
            write_xlsx(xlsx, report, registry, f"{report.title}（{label}）", table, issued)
            write_csv(csv, report, table)
            log_use(settings.reports, "generated", report.name, period.key, by)
            out.append(
                ReportResult(
                    report.name,
                    report.department,
                    report.title,
                    label,
                    table.num_rows,
                    xlsx,
                    csv,
                    release,
                )
            )
    return out
