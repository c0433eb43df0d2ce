"""`hub source suggest` and `hub source add`: mapping proposals from headers and content,
registration without code, and a newly registered file arriving in core.person."""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from hub.normalize.cn_id import make_id
from tests.conftest import REPO, SCHEMAS, hub_cli

SAMPLE = REPO / "data" / "sample"


def _suggest(path: Path, data: Path, schemas: Path = SCHEMAS) -> dict:
    return json.loads(hub_cli(["source", "suggest", "--json", str(path)], data, schemas).stdout)


@pytest.mark.parametrize("path", sorted(SAMPLE.glob("*.*")), ids=lambda p: p.name)
def test_suggest_reproduces_every_registered_sample_mapping(path, registry, tmp_path):
    doc = _suggest(path, tmp_path)
    src = next(
        s
        for s in registry.sources.values()
        if path.name.startswith(s.file_pattern[0].split("*")[0])
    )
    assert [(c["header"], c["field"]) for c in doc["columns"]] == [
        (c.header, c.field) for c in src.columns
    ]
    assert set(doc) == {"file", "encoding", "sheet", "header_row", "columns"}
    for c in doc["columns"]:
        # an extension column says the name `source add` would register it under
        extra = {"extension"} if c["field"] is None else set()
        assert set(c) == {"header", "field", "confidence", "evidence"} | extra
        assert 0.0 <= c["confidence"] <= 1.0 and c["evidence"]
        if extra:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", c["extension"]), c


def test_merged_header_and_encoding_are_reported(tmp_path):
    dibao = _suggest(next(SAMPLE.glob("民政_*.xlsx")), tmp_path)
    assert (dibao["header_row"], dibao["sheet"], dibao["encoding"]) == (3, "城市低保花名册", None)
    household = _suggest(next(SAMPLE.glob("公安_*.csv")), tmp_path)
    assert (household["encoding"], household["header_row"]) == ("gb18030", 1)


def _people(n: int, seed: int = 3) -> list[tuple[str, date]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 25000))
        out.append((make_id("330106", born, rng.randint(1, 999)), born))
    return out


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"):
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_content_decides_where_the_header_cannot(tmp_path):
    """AAC002 full of valid IDs is citizen_id; 身份证号 full of 20-digit numbers is not."""
    rng = random.Random(5)
    rows = [
        [
            cid,
            cid + f"{rng.randint(1, 7)}{rng.randint(1, 4)}",
            rng.choice("张王李赵刘陈") + rng.choice(["伟", "芳", "娜", "敏"]),
            f"139{rng.randint(10000000, 99999999)}",
            f"158{rng.randint(10000000, 99999999)}",
            born.strftime("%Y%m%d"),
            rng.choice(["北京", "河北保定"]),
        ]
        for cid, born in _people(200)
    ]
    header = ["AAC002", "身份证号", "XM", "lxfs", "备用字段1", "csrq", "出生地"]
    doc = _suggest(_write_csv(tmp_path / "混合表头.csv", header, rows), tmp_path)
    got = {c["header"]: c for c in doc["columns"]}
    assert {h: c["field"] for h, c in got.items()} == {
        "AAC002": "citizen_id",
        "身份证号": "disability_cert_no",
        "XM": "name",
        "lxfs": "phone",
        "备用字段1": None,
        "csrq": "birth_date",
        "出生地": None,
    }
    assert any("与之不符" in e for e in got["身份证号"]["evidence"])
    assert any("与身份证号码中的出生日期一致" in e for e in got["csrq"]["evidence"])
    # two phone columns: one is mapped, the other says why it is not
    assert any("phone" in e and "lxfs" in e for e in got["备用字段1"]["evidence"])


def test_a_column_for_someone_else_is_not_the_residents_own(tmp_path):
    people = _people(60)
    rows = [
        ["张" + "伟芳娜敏静强"[i % 6], cid, "李" + "军红华"[i % 3], f"13{i:09d}", f"15{i:09d}"]
        for i, (cid, _) in enumerate(people)
    ]
    header = ["姓名", "公民身份证号码", "紧急联系人姓名", "紧急联系人联系方式", "户主手机"]
    doc = _suggest(_write_csv(tmp_path / "监护.csv", header, rows), tmp_path)
    got = {c["header"]: c["field"] for c in doc["columns"]}
    assert got["公民身份证号码"] == "citizen_id" and got["姓名"] == "name"
    assert got["紧急联系人姓名"] == "emergency_contact"
    assert got["紧急联系人联系方式"] == "emergency_phone"
    assert got["户主手机"] is None  # someone else's phone, and no field for it
    # a guardian is a legal role, not whom to call: neither the resident's nor the contact's
    header[2:4] = ["监护人姓名", "监护人联系方式"]
    doc = _suggest(_write_csv(tmp_path / "监护人.csv", header, rows), tmp_path)
    got = {c["header"]: c["field"] for c in doc["columns"]}
    assert got["监护人姓名"] is None and got["监护人联系方式"] is None


def _grid_visits(path: Path, people: list[tuple[str, date]]) -> Path:
    rows = [
        [
            str(i),
            f"王{'伟芳娜敏静'[i % 5]}",
            cid,
            f"1390000{i:04d}",
            "幸福社区第1网格",
            "是",
            "2025-10-08",
        ]
        for i, (cid, _) in enumerate(people, 1)
    ]
    header = ["序号", "居民姓名", "公民身份证号", "手机号码", "所在网格", "是否独居", "走访日期"]
    path.write_bytes(("青云街道网格员走访登记表\n").encode("gb18030"))
    with path.open("a", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_register_a_new_table_end_to_end(hub_home):
    """suggest -> add --yes -> hub run: new assets, and the rows arrive in core.person."""
    people = _people(40, seed=9)
    f = _grid_visits(hub_home.data / "街道_网格走访登记_202510.csv", people)
    proc = hub_cli(
        ["source", "add", str(f), "--department", "青云街道", "--name", "jiedao_visits", "--yes"],
        hub_home.data,
        hub_home.schemas,
    )
    assert "已登记来源 jiedao_visits" in proc.stdout
    path = hub_home.schemas / "sources" / "jiedao_visits.yaml"
    text = path.read_text(encoding="utf-8")
    reg = yaml.safe_load(text)
    assert reg["file_pattern"] == ["街道_网格走访登记_*.csv"]
    assert reg["title"] == "青云街道网格员走访登记表"
    by_header = {c["header"]: c for c in reg["columns"]}
    assert by_header["公民身份证号"]["field"] == "citizen_id"
    assert by_header["所在网格"]["field"] == "grid_code"
    assert by_header["走访日期"] == {"header": "走访日期", "extension": "zou_fang_ri_qi"}
    assert "# " in text.splitlines()[-1]  # the evidence sits beside each column

    shutil.move(f, hub_home.incoming / f.name)
    summary = json.loads(
        hub_cli(["run", "--no-gx", "--json"], hub_home.data, hub_home.schemas).stdout
    )
    assert [(r["source"], r["status"], r["rows"]) for r in summary["loads"]] == [
        ("jiedao_visits", "loaded", 40)
    ]
    status = json.loads(hub_cli(["status", "--json"], hub_home.data, hub_home.schemas).stdout)
    assert status["persons"] == 40
    from pipelines.definitions import build_definitions

    keys = build_definitions(schemas=hub_home.schemas, data=hub_home.data).resolve_asset_graph()
    assert "staged/jiedao_visits" in {k.to_user_string() for k in keys.get_all_asset_keys()}


def test_interactive_review_changes_and_demotes_columns(hub_home):
    f = _grid_visits(hub_home.data / "街道_网格走访登记_202510.csv", _people(10))
    # 所在网格 (5) is set by hand, 是否独居 (6) demoted; an unknown field name is refused;
    # 走访日期 (7) offered as 性别 shows that none of its values fit and is declined
    answers = "5\ncommunity_code\n6\n-\n7\nvisit_day\n7\ngender\nn\n7\n-\n\n"
    proc = hub_cli(
        ["source", "add", str(f), "--department", "青云街道", "--name", "visits"],
        hub_home.data,
        hub_home.schemas,
        input=answers,
    )
    assert "没有字段 'visit_day'" in proc.stdout
    assert "community_code（所属社区）" in proc.stdout  # the choices carry their labels
    assert "0% 属于代码表《性别》" in proc.stdout and "仍映射为 gender" in proc.stdout
    assert "第1列" in proc.stdout and "扩展列 zou_fang_ri_qi" in proc.stdout
    reg = yaml.safe_load((hub_home.schemas / "sources" / "visits.yaml").read_text("utf-8"))
    by_header = {c["header"]: c for c in reg["columns"]}
    assert "extension" in by_header["是否独居"] and "field" not in by_header["是否独居"]
    assert by_header["所在网格"]["field"] == "community_code"
    assert "field" not in by_header["走访日期"]  # declined, then kept as an extension


def test_add_refuses_a_taken_name_and_a_bad_name(hub_home):
    f = _grid_visits(hub_home.data / "街道_网格走访登记_202510.csv", _people(5))
    taken = hub_cli(
        ["source", "add", str(f), "--department", "民政局", "--name", "minzheng_dibao", "--yes"],
        hub_home.data,
        hub_home.schemas,
        check=False,
    )
    assert taken.returncode == 2 and "已登记" in taken.stderr
    bad = hub_cli(
        ["source", "add", str(f), "--department", "民政局", "--name", "低保", "--yes"],
        hub_home.data,
        hub_home.schemas,
        check=False,
    )
    assert bad.returncode == 2 and "snake_case" in bad.stderr


def test_two_columns_for_one_field_back_each_other_up_and_say_so(hub_home):
    people = _people(30, seed=4)
    rows = [
        ["王" + "伟芳娜敏静"[i % 5], cid, f"1390000{i:04d}" if i % 3 else "", f"0571-8765{i:04d}"]
        for i, (cid, _) in enumerate(people)
    ]
    header = ["姓名", "身份证号码", "联系电话_手机", "联系电话_宅电"]
    f = _write_csv(hub_home.data / "两部电话_202510.csv", header, rows)
    doc = _suggest(f, hub_home.data, hub_home.schemas)
    got = {c["header"]: c for c in doc["columns"]}
    assert got["联系电话_手机"]["field"] == got["联系电话_宅电"]["field"] == "phone"
    assert any("「联系电话_手机」为空时取本列" in e for e in got["联系电话_宅电"]["evidence"])
    hub_cli(
        ["source", "add", str(f), "--department", "民政局", "--name", "two_phones", "--yes"],
        hub_home.data,
        hub_home.schemas,
    )
    reg = yaml.safe_load((hub_home.schemas / "sources" / "two_phones.yaml").read_text("utf-8"))
    assert reg["columns"][3] == {"header": "联系电话_宅电", "field": "phone", "fallback": True}
    shutil.move(f, hub_home.incoming / f.name)
    hub_cli(["run", "--no-gx"], hub_home.data, hub_home.schemas)
    import duckdb

    with duckdb.connect(str(hub_home.warehouse), read_only=True) as con:
        phones = dict(con.execute("SELECT citizen_id, phone FROM staged.two_phones").fetchall())
    for i, (cid, _) in enumerate(people):
        assert phones[cid] == (f"1390000{i:04d}" if i % 3 else f"0571-8765{i:04d}")


def test_a_second_column_for_a_field_must_be_declared(hub_home):
    path = hub_home.schemas / "sources" / "tuiyi_veterans.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "  - {header: 工作单位, field: employer}",
        "  - {header: 工作单位, field: employer}\n  - {header: 手机, field: phone}",
    )
    path.write_text(text, encoding="utf-8")
    proc = hub_cli(["status"], hub_home.data, hub_home.schemas, check=False)
    assert proc.returncode == 2
    assert "多个列映射到同一字段 phone" in proc.stderr and "fallback: true" in proc.stderr
