"""A department report's rows from the golden records: its population, its columns in its
order, codes shown as their Chinese labels, and the period it is for.

The input is a `person` relation shaped like `core.person` (the published snapshot when
reports are generated, so a report always matches a released version of the data).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from hub.registry.loader import Registry
from hub.registry.reports import Condition, Report
from hub.warehouse import lit, q, temp_table

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    """The reporting month a run is for; a report labels it by its own frequency."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        m = _MONTH.match(text)
        if not m:
            raise ValueError(f"报告期应写作 YYYY-MM（如 2025-10），收到 {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def end(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def label(self, frequency: str) -> str:
        if frequency == "quarterly":
            return f"{self.year}年第{(self.month - 1) // 3 + 1}季度"
        if frequency == "yearly":
            return f"{self.year}年度"
        return f"{self.year}年{self.month}月"


def load_labels(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Temp tables turning codes into what a report shows: code-list labels, org-unit names."""
    codes = [(cl.name, e.code, e.label) for cl in registry.codelists.values() for e in cl.entries]
    orgs = [(s.code, s.name) for s in registry.orgs.streets]
    for c in registry.orgs.communities:
        orgs.append((c.code, c.name))
        orgs += [(g.code, g.name) for g in c.grids]
    temp_table(con, "report_codes", ["codelist", "code", "label"], codes)
    temp_table(con, "report_orgs", ["code", "name"], orgs)


def population_sql(
    conditions: list[Condition], registry: Registry, as_of: date, have: set[str] | None = None
) -> str:
    """The SQL condition (over `p`) of a report's population; TRUE for everyone. With `have`
    (the columns of `p`), a field not published yet is empty for everyone."""
    parts = []
    for c in conditions:
        if have is not None and c.age is None and c.field not in have:
            if c.present is not False:
                parts.append("false")
            continue
        if c.age is not None:
            age = _age_sql(as_of)
            if c.age.min is not None:
                parts.append(f"{age} >= {c.age.min}")
            if c.age.max is not None:
                parts.append(f"{age} <= {c.age.max}")
            continue
        column = f"p.{q(c.field or '')}"
        if c.present is not None:
            parts.append(f"{column} IS {'NOT ' if c.present else ''}NULL")
        elif registry.fields[c.field or ""].type == "boolean":
            wanted = {code == "1" for code in c.in_ or []}
            parts.append(
                " OR ".join(f"{column} = {str(w).lower()}" for w in sorted(wanted)) or "false"
            )
        else:
            parts.append(f"{column} IN ({', '.join(lit(v) for v in c.in_ or [])})")
    return " AND ".join(f"({p})" for p in parts) or "TRUE"


def _age_sql(as_of: date) -> str:
    return f"date_diff('year', p.birth_date, DATE {lit(as_of.isoformat())}) - CASE WHEN strftime(p.birth_date, '%m%d') > {lit(as_of.strftime('%m%d'))} THEN 1 ELSE 0 END"


def report_rows(
    con: duckdb.DuckDBPyConnection, report: Report, registry: Registry, period: Period
) -> pa.Table:
    """One row per person in the population, the report's headers and order, labels shown;
    dates, numbers, 序号 and 年龄 keep their types.

    Needs `person` and the tables from `load_labels` on `con`."""
    as_of = period.end
    have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE person)").fetchall()}
    select, joins = [], []
    for i, col in enumerate(report.columns):
        alias = f"c{i}"
        if col.value == "seq":
            select.append(
                f"CAST(row_number() OVER (ORDER BY {_order(have)}) AS INTEGER) AS {q(col.header)}"
            )
            continue
        if col.value == "age":
            select.append(f"CAST({_age_sql(as_of)} AS INTEGER) AS {q(col.header)}")
            continue
        if col.value == "members":  # everyone of the household, in the report or not
            if "household_id" not in have:
                select.append(f"CAST(NULL AS INTEGER) AS {q(col.header)}")
                continue
            select.append(f"CAST({alias}.n AS INTEGER) AS {q(col.header)}")
            joins.append(
                f"LEFT JOIN (SELECT household_id, count(*) AS n FROM person "
                f"WHERE household_id IS NOT NULL GROUP BY 1) {alias} "
                f"ON {alias}.household_id = p.household_id"
            )
            continue
        name = col.field or ""
        if name not in have:
            select.append(f"CAST(NULL AS VARCHAR) AS {q(col.header)}")
            continue
        expr, join = _display(registry, name, f"p.{q(name)}", alias, col.show)
        select.append(f"{expr} AS {q(col.header)}")
        joins += join
    where = population_sql(report.population, registry, as_of)
    sql = (
        f"SELECT {', '.join(select)} FROM person p {' '.join(joins)} WHERE {where} "
        f"ORDER BY {_order(have)}"
    )
    return con.sql(sql).to_arrow_table()


def _order(have: set[str]) -> str:
    keys = [k for k in ("community_code", "household_id", "citizen_id", "person_id") if k in have]
    return ", ".join(f"p.{q(k)} NULLS LAST" for k in keys)


def _display(
    registry: Registry, name: str, value: str, alias: str, show: str
) -> tuple[str, list[str]]:
    f = registry.fields[name]
    if f.type == "boolean":
        return f"CASE {value} WHEN true THEN '是' WHEN false THEN '否' END", []
    if f.codelist and show == "label":
        join = (
            f"LEFT JOIN report_codes {alias} ON {alias}.codelist = {lit(f.codelist)} "
            f"AND {alias}.code = {value}"
        )
        return f"coalesce({alias}.label, {value})", [join]
    if f.normalize == "orgunit":
        return f"coalesce({alias}.name, {value})", [
            f"LEFT JOIN report_orgs {alias} ON {alias}.code = {value}"
        ]
    if f.type in ("date", "integer", "decimal"):
        return value, []  # typed: the report writes dates and numbers as such
    return f"CAST({value} AS VARCHAR)", []
