"""报表准入: what a department's draft report asks that the hub already holds, and what it costs.

The draft (a template: headers only, or with sample rows) is read exactly as a department file
is read, and its columns mapped by the same mapper. Each column is then
    held       a canonical field some source gives (which department's value stands, how fresh,
               how many of the target population have it)
    derivable  computed from held data: 年龄 from the birth date, 家庭人口数 from the members
    computed   the table's own 序号
    new        nothing held: a known data element nobody collects yet, or a new one whose name,
               label and type the mapper proposes
The cost is counted in the reforms' units: entries per period and per year, forms, community
submissions a year and indicators, without the hub (a new form sent down) and with it (the
report generated from the golden records; staff enter only the new fields and missing values).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from hub.core.observations import DERIVED_SOURCE
from hub.ingest.read import read_file
from hub.mapping.headers import HeaderMatcher
from hub.mapping.profile import ColumnProfile
from hub.mapping.register import extension_name
from hub.mapping.suggest import ColumnSuggestion, suggest_columns
from hub.publish.snapshot import dataset_sql, read_current
from hub.registry.loader import Registry
from hub.registry.reports import Condition, Report
from hub.reports.build import Period as Month
from hub.reports.build import population_sql
from hub.reports.population import describe_population
from hub.settings import Settings
from hub.warehouse import lit, q

PER_YEAR = {"monthly": 12, "quarterly": 4, "yearly": 1}
PERIOD_LABEL = {"monthly": "月报", "quarterly": "季报", "yearly": "年报"}
TYPE_LABEL = {
    "string": "文本",
    "date": "日期",
    "integer": "整数",
    "decimal": "小数",
    "boolean": "是/否",
    "code": "代码",
}
_AGE = re.compile(r"^(实际)?(年龄|周岁)(（岁）|\(岁\))?$")
_MEMBERS = re.compile(
    r"^(家庭|户内?)?(共同生活)?(人口|成员|人)(总)?数?$|^(家庭人数|户人数|家庭成员数)$"
)
DERIVED_FROM = {"age": "birth_date", "members": "household_id"}


@dataclass
class NewField:
    """What the mapper proposes for a column nothing holds; the administrator edits it."""

    name: str
    label: str
    type: str  # string | date | integer | decimal | boolean
    codelist: str | None = None


@dataclass
class DraftColumn:
    header: str
    status: str  # held | derivable | computed | new
    field: str | None = None  # held: the field; new: a known element nobody collects yet
    label: str | None = None
    derived: str | None = None  # seq | age | members
    authority: list[str] = dc_field(default_factory=list)  # departments whose value stands
    sources: list[str] = dc_field(default_factory=list)  # departments (or 社区) that give it
    fresh: str | None = None  # the newest value's date
    have: int | None = None  # of the target population, how many have a value
    proposed: NewField | None = None
    evidence: list[str] = dc_field(default_factory=list)


@dataclass
class Overlap:
    report: str
    title: str
    department: str
    shared: list[str]  # field labels in both
    same_people: int | None  # residents in both populations

    @property
    def text(self) -> str:
        return f"与《{self.title}》有 {len(self.shared)} 个字段相同"


@dataclass
class Analysis:
    file: str
    department: str
    title: str
    period: str
    population: list[Condition]
    population_text: str
    whole_district: bool  # no population given: costed on everyone
    rows: int | None  # residents in the population (None: nothing published yet)
    communities: int | None
    columns: list[DraftColumn]
    cost: dict[str, Any]
    overlaps: list[Overlap]
    notes: list[str]

    def counts(self) -> dict[str, int]:
        out = {"held": 0, "derivable": 0, "computed": 0, "new": 0}
        for c in self.columns:
            out[c.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["population"] = [
            c.model_dump(by_alias=True, exclude_none=True) for c in self.population
        ]
        doc["counts"] = self.counts()
        doc["overlaps"] = [asdict(o) | {"text": o.text} for o in self.overlaps]
        return doc


def analyse_draft(
    settings: Settings,
    registry: Registry,
    path: Path,
    department: str,
    title: str | None,
    population: list[Condition] | None,
    period: str | None,
) -> Analysis:
    """Read the draft at `path` and say, column by column, what the hub holds of it."""
    ft = read_file(path, limits=registry.limits)
    table = ft.table if ft.table.num_rows else None
    suggestions = _suggest(table, ft.headers, registry)
    # one line of text: a title ends up in file names, sheet names and registry files
    title = re.sub(r"\s+", " ", title or ft.title or path.stem).strip()[:100] or "新报表"
    notes = list(ft.notes)
    if period is None:
        period = _period_of(title)
        notes.append(f"未指定周期，按标题判断为{PERIOD_LABEL[period]}")
    whole = population is None
    conditions = population or []
    if whole:
        notes.append("未指定人群（--population），按全区居民估算")
    given = _given_by(registry)
    matcher = HeaderMatcher(registry)
    known = _catalogue_headers(registry)
    columns = []
    taken: set[str] = set(registry.fields)
    for s in suggestions:
        field, evidence = s.field, s.evidence
        bare = re.sub(r"\s+", "", s.header)
        if s.fallback_of is not None:  # two columns of a report are never the same item
            field = None
            evidence = [
                f"与「{s.fallback_of}」列同为 {s.field}：报表中两列不会是同一项，按新增列处理"
            ]
        elif field is None and (same := known.get(bare)):
            field, evidence = same[0], [f"与目录中《{same[1]}》的列「{s.header}」相同"]
        columns.append(
            _column(s.header, field, evidence, s.profile, registry, given, matcher, taken)
        )
    rows, communities = _measure(settings, registry, conditions, columns)
    if rows is None:
        notes.append("尚未发布数据：人数、已有比例和时效无法计算（先运行 hub run）")
    cost = _cost(columns, rows, communities, period)
    overlaps = _overlaps(settings, registry, columns, conditions)
    return Analysis(
        file=path.name,
        department=department,
        title=title,
        period=period,
        population=conditions,
        population_text=describe_population(conditions, registry),
        whole_district=whole,
        rows=rows,
        communities=communities,
        columns=columns,
        cost=cost,
        overlaps=overlaps,
        notes=notes,
    )


def _suggest(table: Any, headers: list[str], registry: Registry) -> list[ColumnSuggestion]:
    """The mapper's proposals, by the headers first: a draft's sample rows are often made up
    (张三, 110101…), so its values only speak for a column its header leaves unmapped."""
    by_header = suggest_columns(None, headers, registry)
    if table is None:
        return by_header
    by_content = suggest_columns(table, headers, registry)
    taken = {c.field for c in by_header if c.field}
    return [
        h if h.field or c.field is None or c.field in taken else c
        for h, c in zip(by_header, by_content, strict=True)
    ]


def _catalogue_headers(registry: Registry) -> dict[str, tuple[str, str] | None]:
    """header -> (field, report title) as the catalogue's reports use it: the district's own
    words for its data (None where two reports use one header for different fields)."""
    out: dict[str, tuple[str, str] | None] = {}
    for rep in registry.reports.values():
        for c in rep.columns:
            if c.field:
                key = re.sub(r"\s+", "", c.header)
                seen = out.get(key, (c.field, rep.title))
                out[key] = (c.field, rep.title) if seen and seen[0] == c.field else None
    return out


def _period_of(title: str) -> str:
    if re.search(r"季", title):
        return "quarterly"
    if re.search(r"年报|年度|每年|年审", title):
        return "yearly"
    return "monthly"


def _given_by(registry: Registry) -> dict[str, list[str]]:
    """field -> the departments (or 社区一张表) whose sources give it."""
    out: dict[str, list[str]] = {}
    for src in registry.sources.values():
        who = "社区一张表" if src.name == "community_form" else src.department
        for col in src.columns:
            if col.field and who not in out.setdefault(col.field, []):
                out[col.field].append(who)
    return out


def _column(
    header: str,
    mapped: str | None,
    evidence: list[str],
    profile: ColumnProfile | None,
    registry: Registry,
    given: dict[str, list[str]],
    matcher: HeaderMatcher,
    taken: set[str],
) -> DraftColumn:
    bare = re.sub(r"\s+", "", header)
    if matcher.is_ignored(header) and re.fullmatch(r"序号|编号|顺序号|行号", bare):
        return DraftColumn(
            header, "computed", derived="seq", evidence=["表格自身的序号，由系统生成"]
        )
    if _AGE.match(bare) and "birth_date" in given:
        return _derivable(header, registry, given, "birth_date", "age", "由出生日期按报告期末计算")
    if (mapped is None or mapped == "household_size") and _MEMBERS.match(bare):
        if "household_size" not in given and "household_id" in given:
            return _derivable(
                header, registry, given, "household_id", "members", "由同一户号的成员人数计算"
            )
        mapped = mapped or ("household_size" if "household_size" in registry.fields else None)
    if mapped is not None and mapped in given:
        return DraftColumn(
            header,
            "held",
            field=mapped,
            label=registry.fields[mapped].label,
            authority=_authority(registry, mapped),
            sources=given[mapped],
            evidence=evidence,
        )
    if mapped is not None:  # a data element the registry knows, which no source gives yet
        return DraftColumn(
            header,
            "new",
            field=mapped,
            label=registry.fields[mapped].label,
            evidence=[*evidence, "标准字段已有定义，但还没有任何来源提供"],
        )
    proposed = NewField(extension_name(header, taken), header.strip(), *_type_of(bare, profile))
    return DraftColumn(
        header,
        "new",
        proposed=proposed,
        evidence=["没有对应的标准字段：批准时新增该字段（名称、类型可修改）"],
    )


def _derivable(
    header: str, registry: Registry, given: dict[str, list[str]], base: str, kind: str, how: str
) -> DraftColumn:
    """A column computed from the held field `base` (`kind`: age, members)."""
    return DraftColumn(
        header,
        "derivable",
        field=base,
        label=registry.fields[base].label,
        derived=kind,
        authority=_authority(registry, base),
        sources=given[base],
        evidence=[how],
    )


def _authority(registry: Registry, field: str) -> list[str]:
    """The departments whose value of `field` stands over more recent ones."""
    return list(
        dict.fromkeys(registry.sources[s].department for s in registry.authority_sources(field))
    )


def _type_of(header: str, p: ColumnProfile | None) -> tuple[str, str | None]:
    """(type, code list) a new field's header and sample values suggest."""
    share = (p.shares if p is not None and p.filled else {}).get
    yes_no = p.codelists.get("yes_no", (0.0, 0.0))[0] if p is not None and p.filled else 0.0
    if header.startswith(("是否", "有无")) or yes_no >= 0.8:
        return "boolean", "yes_no"
    if share("date", 0) >= 0.8 or re.search(r"(日期|时间|年月)$", header):
        return "date", None
    if share("money", 0) >= 0.8 or re.search(r"(金额|元）|元\)|收入|补贴|费用)$", header):
        return "decimal", None
    if share("small_int", 0) >= 0.8 or re.search(r"(人数|次数|天数|个数)$", header):
        return "integer", None
    return "string", None


def _published(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    if read_current(settings.published) is None:
        return False
    con.execute(f"CREATE OR REPLACE VIEW person AS {dataset_sql(settings.published, 'person')}")
    return True


def _measure(
    settings: Settings,
    registry: Registry,
    conditions: list[Condition],
    columns: list[DraftColumn],
) -> tuple[int | None, int | None]:
    """(residents in the population, their communities); fills each held column's `have` and
    `fresh` from the published snapshot."""
    with duckdb.connect() as con:
        if not _published(con, settings):
            return None, None
        have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE person)").fetchall()}
        where = population_sql(conditions, registry, Month.of(_today()).end, have)
        held = [c for c in columns if c.status == "held" and c.field in have]
        counts = "".join(f", count(p.{q(c.field or '')})" for c in held)
        community = "count(DISTINCT p.community_code)" if "community_code" in have else "NULL"
        got = con.execute(
            f"SELECT count(*), {community}{counts} FROM person p WHERE {where}"
        ).fetchone() or (0, None, *([0] * len(held)))
        for c, n in zip(held, got[2:], strict=True):
            c.have = int(n)
        for c in columns:  # held, but in no release yet: nobody has it
            if c.status == "held" and c.field not in have:
                c.have = 0
        fields = sorted({c.field for c in held if c.field})
        if fields:
            prov = dataset_sql(settings.published, "provenance")
            fresh = dict(
                con.execute(
                    f"SELECT field, max(observed_at)::DATE::VARCHAR FROM ({prov}) "
                    f"WHERE source <> {lit(DERIVED_SOURCE)} "
                    f"AND field IN ({', '.join(lit(f) for f in fields)}) GROUP BY field"
                ).fetchall()
            )
            for c in held:
                c.fresh = fresh.get(c.field or "")
        return int(got[0]), int(got[1]) if got[1] is not None else None


def _today() -> date:
    return date.today()


def _cost(
    columns: list[DraftColumn], rows: int | None, communities: int | None, period: str
) -> dict[str, Any]:
    """Entries a period and a year, forms, submissions and indicators, without and with the hub."""
    n = rows or 0
    per_year = PER_YEAR[period]
    data = [c for c in columns if c.status in ("held", "new")]  # fields, as the catalogue counts
    new = [c for c in columns if c.status == "new"]
    held = [c for c in columns if c.status == "held"]
    missing = sum(n - (c.have if c.have is not None else n) for c in held)
    verified = sum(c.have or 0 for c in held)
    without = n * len(data)
    with_hub = n * len(new) + missing
    return {
        "periods_a_year": per_year,
        "without_hub": {
            "entries_per_period": without,
            "entries_per_year": without * per_year,
            "forms": 1,
            "submissions_per_year": (communities or 0) * per_year,
            "indicators": len(data),
        },
        "with_hub": {
            "entries_per_period": with_hub,
            "entries_per_year": with_hub * per_year,
            "forms": 0,
            "submissions_per_year": 0,
            "indicators": len(new),
            "prefilled_per_period": verified,
        },
        "saved_per_year": (without - with_hub) * per_year,
    }


def _overlaps(
    settings: Settings, registry: Registry, columns: list[DraftColumn], conditions: list[Condition]
) -> list[Overlap]:
    """Catalogue reports sharing fields with the draft, most shared first, with how many
    residents both populations hold."""
    mine = [c.field for c in columns if c.field and c.status in ("held", "new")]
    mine += [c.derived for c in columns if c.derived in ("age",)]
    found = []
    for rep in registry.reports.values():
        theirs = set(rep.fields) | {c.value for c in rep.columns if c.value == "age"}
        shared = [x for x in dict.fromkeys(mine) if x in theirs]
        if not shared:
            continue
        labels = [registry.fields[x].label if x in registry.fields else "年龄" for x in shared]
        found.append(Overlap(rep.name, rep.title, rep.department, labels, None))
    found.sort(key=lambda o: (-len(o.shared), o.report))
    _same_people(settings, registry, found, conditions)
    return found


def _same_people(
    settings: Settings, registry: Registry, found: list[Overlap], conditions: list[Condition]
) -> None:
    if not found:
        return
    with duckdb.connect() as con:
        if not _published(con, settings):
            return
        have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE person)").fetchall()}
        as_of = Month.of(_today()).end

        def where(conds: list[Condition]) -> str:
            return population_sql(conds, registry, as_of, have)

        mine = where(conditions)
        parts = ", ".join(
            f"count(*) FILTER (WHERE {where(registry.reports[o.report].population)})" for o in found
        )
        got = con.execute(f"SELECT {parts} FROM person p WHERE {mine}").fetchone()
        for o, n in zip(found, got or (), strict=True):
            o.same_people = int(n)


def draft_report(
    analysis: Analysis, name: str, fields_of: dict[str, str], extra: dict[str, Any]
) -> Report:
    """The catalogue entry an approved draft becomes: its columns in order, each held or
    derived column read from the hub, each new one from the field it was given."""
    cols: list[dict[str, Any]] = []
    for c in analysis.columns:
        if c.derived in ("seq", "age", "members"):
            cols.append({"header": c.header, "value": c.derived})
        elif c.status == "held":
            cols.append({"header": c.header, "field": c.field})
        else:
            cols.append({"header": c.header, "field": fields_of[c.header]})
    return Report.model_validate(
        {
            "name": name,
            "department": analysis.department,
            "title": analysis.title,
            "period": analysis.period,
            "population": [
                c.model_dump(by_alias=True, exclude_none=True) for c in analysis.population
            ],
            "columns": cols,
            **extra,
        }
    )
