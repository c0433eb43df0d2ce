"""Canonical forms computed by the DuckDB macros, checked against known answers and the
Python twin of the ID arithmetic."""

from __future__ import annotations

import random
from datetime import date

import duckdb
import pytest

from hub.normalize.cn_id import check_char, is_valid, make_id, to15
from hub.normalize.macros import register_macros


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    register_macros(c)
    yield c
    c.close()


def one(con, expr: str, *params):
    return con.execute(f"SELECT {expr}", list(params)).fetchall()[0][0]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("11010519491231002X", "11010519491231002X"),
        (" 11010519491231002x ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("110105491231002", "11010519491231002X"),  # legacy 15-digit, check char computed
    ],
)
def test_citizen_id_canonical_form(con, written, canonical):
    assert one(con, "hub_id18(?)", written) == canonical
    assert one(con, "hub_id_problem(hub_id18(?))", written) is None


@pytest.mark.parametrize(
    ("written", "rule"),
    [
        ("110105194912310021", "cn_id_checksum"),
        ("11010519491331002X", "cn_id_birthdate"),
        ("1101051949123100", "cn_id_format"),
        ("11010519491231002Y", "cn_id_format"),
    ],
)
def test_citizen_id_problems(con, written, rule):
    assert one(con, "hub_id_problem(hub_id18(?))", written) == rule


def test_sql_check_char_agrees_with_python_on_random_ids(con):
    rng = random.Random(5)
    bodies = [
        f"{rng.randrange(110000, 659999)}{rng.randrange(19000101, 20231231):08d}{rng.randrange(1000):03d}"
        for _ in range(300)
    ]
    got = con.execute("SELECT b, hub_id_check(b) FROM unnest(?) t(b)", [bodies]).fetchall()
    assert all(check_char(b) == c for b, c in got)
    legacy = [
        to15(make_id("330102", date(1960 + i % 30, 1 + i % 12, 1 + i % 28), i % 999 + 1))
        for i in range(100)
    ]
    converted = con.execute("SELECT hub_id18(x) FROM unnest(?) t(x)", [legacy]).fetchall()
    assert all(is_valid(r[0]) for r in converted)


@pytest.mark.parametrize(
    "written",
    [
        "2023-05-01",
        "2023年5月1日",
        "2023.5.1",
        "20230501",
        "45047",
        "45047.0",
        "2023/05/01",
        "2023-05-01 00:00:00",
        " 2023 年 5 月 1 日 ",
    ],
)
def test_dates_in_every_department_style(con, written):
    assert one(con, "hub_date(?)", written) == date(2023, 5, 1)


def test_month_only_dates_and_impossible_dates(con):
    assert one(con, "hub_date(?)", "1982.09") == date(1982, 9, 1)
    assert one(con, "hub_date(?)", "8515") == date(1923, 4, 24)  # a 4-digit Excel serial
    for bad in ("2023-02-30", "2023年13月5日", "20230431", "不详"):
        assert one(con, "hub_date(?)", bad) is None, bad


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0571-87654321", "0571-87654321"),
        ("057187654321", "0571-87654321"),
        ("010-12345678", "010-12345678"),
        ("1381234567", None),
        ("87654321", None),
    ],
)
def test_phones(con, written, canonical):
    assert one(con, "hub_phone(?)", written) == canonical


def test_text_names_and_numbers(con):
    assert one(con, "hub_clean(?)", "  浙江省　杭州市  ") == "浙江省 杭州市"
    assert one(con, "hub_name(?)", "张 三") == "张三"
    assert one(con, "hub_name(?)", "阿依古丽.买买提") == "阿依古丽·买买提"
    assert one(con, "hub_integer(?)", "3人") == 3
    assert str(one(con, "hub_decimal(?)", "485.50元")) == "485.50"
    assert one(con, "hub_code_key(?)", " ｍａｌｅ ") == "MALE"
