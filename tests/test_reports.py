"""Generated department reports against the golden records, and the burden figures.

The expected rows are computed here in plain Python from the published person snapshot
(population, labels, ages), independently of the SQL that writes the reports.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
import yaml

from hub.publish.snapshot import dataset_sql
from hub.registry import Registry, load_registry
from hub.registry.reports import Report
from tests.conftest import SCHEMAS, Run, copy_schemas, hub_cli

PERIOD = "2025-10"
AS_OF = date(2025, 10, 31)


@pytest.fixture(scope="module")
def generated(sample_run: Run) -> dict[str, Any]:
    out = hub_cli(["report", "generate", "--period", PERIOD, "--json"], sample_run.data)
    return {r["name"]: r for r in json.loads(out.stdout)}


def published_people(data: Path) -> list[dict[str, Any]]:
    with duckdb.connect() as con:
        res = con.execute(dataset_sql(data / "published", "person"))
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


def age(born: date | None, as_of: date = AS_OF) -> int | None:
    if born is None:
        return None
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


def in_population(report: Report, p: dict[str, Any], as_of: date = AS_OF) -> bool:
    for c in report.population:
        if c.age is not None:
            a = age(p["birth_date"], as_of)
            if a is None or (c.age.min is not None and a < c.age.min):
                return False
            if c.age.max is not None and a > c.age.max:
                return False
        elif c.present is not None:
            if (p[c.field or ""] is not None) != c.present:
                return False
        else:
            v = p[c.field or ""]
            code = {True: "1", False: "0"}.get(v, v) if isinstance(v, bool) else v
            if code not in (c.in_ or []):
                return False
    return True


def shown(registry: Registry, name: str, value: Any, show: str) -> str:
    if value is None:
        return ""
    f = registry.fields[name]
    if isinstance(value, bool):
        return "是" if value else "否"
    if f.codelist and show == "label":
        labels = {e.code: e.label for e in registry.codelists[f.codelist].entries}
        return labels.get(value, value)
    if f.normalize == "orgunit":
        names = {c.code: c.name for c in registry.orgs.communities}
        names |= {g.code: g.name for c in registry.orgs.communities for g in c.grids}
        return names.get(value, value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def expected_rows(registry: Registry, report: Report, people: list[dict[str, Any]]) -> list[tuple]:
    rows = []
    for p in people:
        if not in_population(report, p):
            continue
        row = []
        for c in report.columns:
            if c.value == "seq":
                continue
            if c.value == "age":
                row.append(str(age(p["birth_date"])))
            else:
                row.append(shown(registry, c.field or "", p.get(c.field or ""), c.show))
        rows.append(tuple(row))
    return sorted(rows)


def csv_rows(path: Path, report: Report) -> tuple[list[str], list[tuple]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header, *body = list(csv.reader(fh))
    keep = [i for i, c in enumerate(report.columns) if c.value != "seq"]
    seq = [i for i, c in enumerate(report.columns) if c.value == "seq"]
    for i in seq:  # 序号 runs 1..n in the order written
        assert [r[i] for r in body] == [str(n) for n in range(1, len(body) + 1)]
    return header, sorted(tuple(r[i] for i in keep) for r in body)


REPORTS = sorted(load_registry(SCHEMAS).reports)


@pytest.mark.parametrize("name", REPORTS)
def test_report_matches_golden_records(
    name: str, sample_run: Run, registry: Registry, generated: dict[str, Any]
):
    report = registry.reports[name]
    people = published_people(sample_run.data)
    expected = expected_rows(registry, report, people)
    header, got = csv_rows(Path(generated[name]["csv"]), report)
    assert header == [c.header for c in report.columns]
    assert len(expected) > 0, f"{name}: the sample district should have people in this report"
    assert got == expected
    assert generated[name]["rows"] == len(expected)


def test_xlsx_layout_title_headers_total(
    sample_run: Run, registry: Registry, generated: dict[str, Any]
):
    report = registry.reports["minzheng_dibao_monthly"]
    path = Path(generated["minzheng_dibao_monthly"]["xlsx"])
    assert path.parent.name == "民政局" and path.name.endswith(".xlsx")
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = [tuple("" if v is None else str(v) for v in r) for r in ws.iter_rows(values_only=True)]
    assert report.title in rows[0][0] and "2025年10月" in rows[0][0]
    assert list(rows[1][: len(report.columns)]) == [c.header for c in report.columns]
    _, body = csv_rows(Path(generated["minzheng_dibao_monthly"]["csv"]), report)
    total = next(r for r in rows if r[0] == "合计" or "合计" in r[:2])
    assert str(len(body)) in " ".join(total)


def burden(data: Path, schemas: Path) -> dict[str, Any]:
    return json.loads(hub_cli(["burden", "--json"], data, schemas).stdout)


def test_burden_follows_the_report_definitions(sample_run: Run, tmp_path: Path):
    schemas = tmp_path / "schemas"
    copy_schemas(schemas)
    before = burden(sample_run.data, schemas)
    assert before["fields_asked"]["before"] > before["fields_asked"]["after"] > 0
    e = before["entries_per_month"]
    assert e["before"] > e["after_each_field_once"] >= e["after"]
    assert 0 < before["reduction_percent"] < 100

    # a department adds a second copy of its roster with three more static columns
    path = schemas / "reports" / "minzheng_dibao_monthly.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["name"], doc["title"] = "minzheng_dibao_copy", "低保对象家庭情况核对表"
    doc["columns"] += [
        {"header": "民族", "field": "ethnicity"},
        {"header": "文化程度", "field": "education"},
        {"header": "婚姻状况", "field": "marital_status"},
    ]
    (schemas / "reports" / "minzheng_dibao_copy.yaml").write_text(
        yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8"
    )
    after = burden(sample_run.data, schemas)
    dibao = next(r for r in before["reports"] if r["name"] == "minzheng_dibao_monthly")
    added_fields = len(doc["columns"]) - 1  # 序号 is not asked
    assert after["fields_asked"]["before"] == before["fields_asked"]["before"] + added_fields
    new_fields = {"ethnicity", "education", "marital_status"} - {
        f for r in load_registry(SCHEMAS).reports.values() for f in r.fields
    }
    assert after["fields_asked"]["after"] == before["fields_asked"]["after"] + len(new_fields)
    grew = after["entries_per_month"]["before"] - before["entries_per_month"]["before"]
    assert grew == pytest.approx(dibao["rows"] * added_fields, abs=0.1)
    assert after["reduction_percent"] > before["reduction_percent"]


@pytest.mark.parametrize("name", REPORTS)
def test_xlsx_is_ready_to_hand_over(name: str, registry: Registry, generated: dict[str, Any]):
    """Numbers are numbers, 合计 sums the columns marked total, IDs fit, print setup is set,
    and the issuing unit and sign-off line are under the table."""
    report = registry.reports[name]
    wb = openpyxl.load_workbook(Path(generated[name]["xlsx"]), data_only=True)
    ws = wb.worksheets[0]
    n = generated[name]["rows"]
    first, total_row = 3, 3 + n
    assert ws.cell(total_row, 1).value == "合计"
    for j, col in enumerate(report.columns, start=1):
        values = [ws.cell(r, j).value for r in range(first, total_row)]
        f = registry.fields.get(col.field or "")
        numeric = col.value in ("seq", "age") or (
            f is not None and f.type in ("integer", "decimal")
        )
        if numeric:
            assert all(isinstance(v, (int, float)) for v in values if v is not None), col.header
        elif f is not None and f.type == "date":
            assert all(isinstance(v, datetime) for v in values if v is not None), col.header
        else:
            assert all(isinstance(v, str) for v in values if v is not None), col.header
        if col.total:
            assert ws.cell(total_row, j).value == pytest.approx(sum(v or 0 for v in values))
            assert str(wb.worksheets[0].cell(total_row, j).value) != ""
        if f is not None and f.normalize == "cn_id":
            letter = openpyxl.utils.get_column_letter(j)
            assert ws.column_dimensions[letter].width >= 20, col.header
    setup = ws.page_setup
    assert setup.orientation == "landscape" and setup.paperSize == 9
    assert (
        setup.fitToWidth in (None, 1) and setup.fitToHeight == 0
    )  # one page wide (1 is the default)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows.replace("$", "") == "1:2"  # title and headers on every page
    notes = " ".join(str(ws.cell(r, 1).value or "") for r in range(total_row + 1, ws.max_row + 1))
    assert f"制表单位：{registry.orgs.district.name}{report.department}" in notes
    assert all(f"{s}：" in notes for s in ("填表人", "审核人", "联系电话"))
    assert "Hub" not in notes


def test_total_columns_are_amounts(registry: Registry):
    marked = {c.field for r in registry.reports.values() for c in r.columns if c.total}
    assert "assistance_amount" in marked
    assert not marked & {"household_size", "monthly_income"}  # per-member repeats
