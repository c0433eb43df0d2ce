"""A batch's reporting period: from the registration, the file name, the title, a date column."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from hub.ingest.period import period_in, reporting_period, without_period
from hub.mapping.register import file_pattern
from tests.conftest import Run, hub_cli
from tests.test_form import copy_run


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("民政_低保_202510.xlsx", date(2025, 10, 31)),
        ("低保_2025-10.csv", date(2025, 10, 31)),
        ("低保_2025.2.csv", date(2025, 2, 28)),
        ("青禾区2025年11月份低保台账", date(2025, 11, 30)),
        ("2025年第三季度残疾人名单", date(2025, 9, 30)),
        ("2024Q4 名单", date(2024, 12, 31)),
        ("2025年上半年走访", date(2025, 6, 30)),
        ("2025年度体检", date(2025, 12, 31)),
        ("残联_花名册_2025.xlsx", date(2025, 12, 31)),
        ("导出_20251015.csv", date(2025, 10, 15)),
        ("2025年10月31日", date(2025, 10, 31)),
        ("联系电话13812345678", None),
        ("身份证330102199001011234", None),
        ("花名册.csv", None),
        ("低保_202513.csv", None),  # no month 13: nothing is certain
    ],
)
def test_period_in_names_and_titles(text: str, day: date | None):
    assert period_in(text) == day


def test_titles_and_patterns_drop_the_period():
    assert without_period("青禾区2025年11月低保台账") == "青禾区低保台账"
    assert without_period("2025年第三季度残疾人名单") == "残疾人名单"
    assert file_pattern("民政_城市低保花名册_202510.xlsx") == "民政_城市低保花名册_*.xlsx"
    assert file_pattern("卫健_体检_2025年第三季度.xlsx") == "卫健_体检_*.xlsx"
    assert file_pattern("人社_名单.csv") == "人社_名单*.csv"


def test_order_source_then_name_then_title_then_column():
    today = date(2026, 1, 5)
    assert reporting_period("a_202510.csv", "2024年1月", today, date(2025, 1, 1)).how == "source"
    p = reporting_period("a_202510.csv", "2024年1月", today)
    assert (p.day, p.how, p.note) == (date(2025, 10, 31), "file_name", None)
    p = reporting_period("a.csv", "2025年第三季度残疾人名单", today)
    assert p.day == date(2025, 9, 30) and "标题" in (p.note or "")
    with duckdb.connect() as con:
        from hub.normalize.macros import register_macros

        register_macros(con)
        con.execute(
            "CREATE TABLE t AS SELECT * FROM (VALUES ('2025年3月1日'), ('2025-04-02'), (NULL)) v(d)"
        )
        p = reporting_period("a.csv", None, today, column=(con, "t", "d"))
        assert (p.day, p.how) == (date(2025, 4, 2), "column")
    p = reporting_period("a.csv", "花名册", today)
    assert p.day == today and "按加载日期" in (p.note or "")


def test_a_load_dates_its_batch_and_says_how(sample_run: Run, tmp_path: Path):
    """End to end: a 民政 export named without a month but titled 「2025年11月…」 is dated at
    the month's end; one with no period anywhere says it used the load day."""
    import openpyxl

    s = copy_run(sample_run, tmp_path / "data")
    s.incoming.mkdir(parents=True, exist_ok=True)
    src = next((Path(__file__).parent.parent / "data" / "sample").glob("民政_*.xlsx"))
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    title = str(ws["A1"].value)
    ws["A2"] = "填报单位：青禾区民政局（盖章）"  # the sample's 统计截至 line would date both
    ws["A1"] = "青禾区2025年11月城市低保花名册"
    wb.save(s.incoming / "民政_城市低保花名册_新.xlsx")
    ws["A1"] = without_period(title) + "（导出）"
    wb.save(s.incoming / "民政_城市低保花名册_又一份.xlsx")
    doc = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    loads = {x["file"]: x for x in doc["loads"]}
    titled, bare = loads["民政_城市低保花名册_新.xlsx"], loads["民政_城市低保花名册_又一份.xlsx"]
    assert titled["status"] == bare["status"] == "loaded"
    assert any("标题" in n for n in titled["notes"])
    assert any("按加载日期" in n for n in bare["notes"])
    with duckdb.connect(str(s.warehouse), read_only=True) as con:
        days = dict(
            con.execute(
                "SELECT file_name, observed_at FROM raw._batches WHERE file_name IN (?, ?)",
                [titled["file"], bare["file"]],
            ).fetchall()
        )
    assert days[titled["file"]] == date(2025, 11, 30)
    assert days[bare["file"]] == date.today()
