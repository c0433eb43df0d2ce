"""The Excel path: a prefilled template carries what it was prefilled with (signed), and the
import submits only what the worker changed, reports locked cells and conflicts, and accepts
a renamed file by its content."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from fastapi.testclient import TestClient

from hub.form.corrections import corrections
from hub.form.submissions import read_all
from hub.registry import Registry
from hub.settings import Settings
from tests.conftest import Run, hub_cli
from tests.test_form import copy_run, form_of, other_community, person_where, staff_client

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def district(sample_run: Run, tmp_path: Path) -> Settings:
    return copy_run(sample_run, tmp_path / "data")


def _residents(s: Settings, community: str, n: int) -> list[dict[str, Any]]:
    from hub.publish.snapshot import dataset_sql

    with duckdb.connect() as con:
        res = con.execute(
            f"SELECT * FROM ({dataset_sql(s.published, 'person')}) WHERE community_code = ? "
            "AND citizen_id IS NOT NULL "
            "AND phone IS NOT NULL AND name IS NOT NULL ORDER BY person_id LIMIT ?",
            [community, n],
        )
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


class Sheet:
    """The data sheet of a template, addressed by resident and header."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wb = openpyxl.load_workbook(path)
        self.ws = self.wb["社区一张表"]
        self.col = {c.value: c.column for c in self.ws[2] if c.value}
        self.row = {
            self.ws.cell(r, self.col["人员编号"]).value: r for r in range(3, self.ws.max_row + 1)
        }

    def set(self, person_id: str | None, header: str, value: Any, row: int | None = None) -> int:
        r = row or self.row[person_id]
        self.ws.cell(r, self.col[header]).value = value
        return r

    def save(self, path: Path) -> Path:
        self.wb.save(path)
        return path


def _upload(client: TestClient, path: Path, name: str) -> Any:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/upload").text).group(1)
    with path.open("rb") as fh:
        return client.post("/upload", data={"csrf": csrf}, files={"file": (name, fh, XLSX)})


def _observations(s: Settings, submission_ids: set[str]) -> list[tuple[str, str, str]]:
    """(person_id, field, value) of every observation that came from these submissions."""
    with duckdb.connect(str(s.warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT p.person_id, p.field, p.value, r.提交编号 FROM core.provenance p "
            "JOIN raw.community_form r ON r._batch_id = p.batch_id AND r._source_row = p.source_row "
            "WHERE p.source = 'community_form'"
        ).fetchall()
    return sorted((p, f, v) for p, f, v, sid in rows if sid in submission_ids)


def test_template_is_ready_to_hand_over(district: Settings, registry: Registry):
    p = person_where(district, "true")
    out = district.data / "t.xlsx"
    proc = hub_cli(
        ["form", "template", "--community", p["community_code"], "--out", str(out), "--json"],
        district.data,
    )
    assert json.loads(proc.stdout)["residents"] > 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["社区一张表", "填写说明"]
    assert "只需改动有变化的单元格" in " ".join(
        str(c.value) for row in wb["填写说明"].iter_rows() for c in row if c.value
    )
    codes = wb["代码表"]
    assert codes.sheet_state == "hidden"
    heads = [c.value for c in codes[1] if c.value]
    assert {registry.fields[n].label for n in ("gender", "ethnicity", "relation_to_head")} <= set(
        heads
    )
    assert all(re.search(r"[\u4e00-\u9fff]", str(h)) for h in heads)  # Chinese headers
    assert wb["预填校验"].sheet_state == "veryHidden"
    ws = wb["社区一张表"]
    header = [c.value for c in ws[2]]
    assert header[-1] == "人员编号" and header[0] != "人员编号"
    id_col = openpyxl.utils.get_column_letter(header.index("公民身份号码") + 1)
    assert ws.column_dimensions[id_col].width >= 20
    assert ws.protection.sheet and ws.protection.password  # protected, with a password
    first = 3
    id_cell = ws.cell(first, header.index("公民身份号码") + 1)
    assert id_cell.value and id_cell.protection.locked  # a known ID cannot be edited
    birth = ws.cell(first, header.index("出生日期") + 1)
    assert birth.is_date  # typed, not text
    phone = ws.cell(first, header.index("联系电话") + 1)
    assert not phone.protection.locked


def test_import_submits_only_what_changed_and_keeps_the_newer_web_edit(district: Settings):
    p = person_where(district, "phone IS NOT NULL")
    community = p["community_code"]
    client, csrf = staff_client(district, "qian", community)
    template = district.data / "tpl.xlsx"
    template.write_bytes(client.get("/template.xlsx").content)
    x, y, z = _residents(district, community, 3)

    # after the template was made, the worker corrects x's phone on the web
    page = client.get(f"/residents/{x['person_id']}").text
    web = form_of(page) | {"phone": "13800138000"}
    assert (
        client.post(f"/residents/{x['person_id']}", data=web, follow_redirects=False).status_code
        == 303
    )

    sheet = Sheet(template)
    sheet.set(y["person_id"], "联系电话", "13911112222")  # two cells filled in the template
    sheet.set(z["person_id"], "工作单位", "青禾区测试有限公司")
    stale = sheet.set(x["person_id"], "联系电话", "13700000000")  # the web edit's cell, stale
    locked = sheet.set(z["person_id"], "姓名", "改了名字")  # a locked cell
    # renamed by the worker: accepted by its content
    filled = sheet.save(district.data / "我填好的表（最终版）.xlsx")
    before = {s.id for s in read_all(district.submissions)}
    r = _upload(client, filled, filled.name)
    assert r.status_code == 200, r.text
    assert "2 项修改" in r.text and "未改动" in r.text
    # a name 公安 holds is not taken: it goes to 公安 as a correction request (纠错回流)
    assert re.search(rf"<td>{locked}</td><td>姓名</td><td class=\"warning\">", r.text)
    assert "已作为更正申请发给公安分局" in r.text
    (asked,) = corrections(district.requests)
    assert (asked.subject, asked.payload["new"], asked.status) == (
        z["person_id"],
        "改了名字",
        "open",
    )
    assert re.search(rf"<td>{stale}</td><td>联系电话</td>", r.text) and "待处理冲突" in r.text
    imported = {s.id for s in read_all(district.submissions)} - before
    assert len(imported) == 2

    # the same file again files nothing new
    again = _upload(client, filled, "again.xlsx")
    assert "2 行此前已导入过" in again.text
    assert {s.id for s in read_all(district.submissions)} - before == imported
    assert len(corrections(district.requests)) == 1  # nor a second correction request

    hub_cli(["run"], district.data)
    assert _observations(district, imported) == sorted(
        [
            (y["person_id"], "phone", "13911112222"),
            (z["person_id"], "employer", "青禾区测试有限公司"),
        ]
    )
    with duckdb.connect(str(district.warehouse), read_only=True) as con:
        phone = con.execute(
            "SELECT phone FROM core.person WHERE person_id = ?", [x["person_id"]]
        ).fetchall()
        name = con.execute(
            "SELECT name FROM core.person WHERE person_id = ?", [z["person_id"]]
        ).fetchall()
    assert phone == [("13800138000",)]  # the web edit survives
    assert name == [(z["name"],)]

    # the conflict waits for the worker; keeping the template's value files it
    page = client.get("/conflicts").text
    assert "13700000000" in page and "13800138000" in page
    cid = re.search(r'action="/conflicts/([0-9a-f]+)"', page).group(1)
    r = client.post(
        f"/conflicts/{cid}", data={"csrf": csrf, "action": "mine"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "没有待处理的冲突" in client.get("/conflicts").text
    (last,) = [
        s
        for s in read_all(district.submissions)
        if s.changed == ["phone"]
        and s.person_id == x["person_id"]
        and s.values["phone"] == "13700000000"
    ]
    assert last.by == "qian"


def test_template_of_another_community_or_tampered_is_refused(
    district: Settings, registry: Registry
):
    p = person_where(district, "true")
    mine = p["community_code"]
    theirs = other_community(registry, mine)
    out = district.data / "theirs.xlsx"
    hub_cli(["form", "template", "--community", theirs, "--out", str(out)], district.data)
    client, _ = staff_client(district, "sun", mine)
    # named like our own community's template, but its content is the other community's
    r = _upload(client, out, f"社区一张表_{mine}_2026-12-01.xlsx")
    assert r.status_code == 422 and "不能导入本社区" in r.text
    # the hidden prefill sheet changed by hand: the signature no longer holds
    wb = openpyxl.load_workbook(out)
    wb["预填校验"].cell(3, 3).value = "改过"
    wb.save(district.data / "tampered.xlsx")
    proc = hub_cli(
        ["form", "import", str(district.data / "tampered.xlsx"), "--json"],
        district.data,
        check=False,
    )
    assert proc.returncode == 1 and "预填校验页已被改动" in json.loads(proc.stdout)["rejected"]
    # a workbook that is not a template at all
    plain = openpyxl.Workbook()
    plain.active["A1"] = "姓名"
    plain.save(district.data / "plain.xlsx")
    r = _upload(client, district.data / "plain.xlsx", "plain.xlsx")
    assert r.status_code == 422 and "不是本系统生成的" in r.text
    assert read_all(district.submissions) == []


def test_new_residents_in_the_template_and_rows_with_errors(district: Settings):
    p = person_where(district, "true")
    community = p["community_code"]
    out = district.data / "t.xlsx"
    hub_cli(["form", "template", "--community", community, "--out", str(out)], district.data)
    sheet = Sheet(out)
    blank = max(r for ref, r in sheet.row.items() if ref) + 1
    for h, v in {
        "姓名": "林新来",
        "公民身份号码": "330102199001011242",
        "性别": "男",
        "出生日期": "1990-01-01",
    }.items():
        sheet.set(None, h, v, row=blank)
    for h, v in {"姓名": "王无证", "公民身份号码": "330106198802301234", "性别": "女"}.items():
        sheet.set(None, h, v, row=blank + 1)  # Feb 30 and a bad check digit
    filled = sheet.save(district.data / "new.xlsx")
    proc = hub_cli(["form", "import", str(filled), "--json"], district.data)
    doc = json.loads(proc.stdout)
    assert doc["added"] == 1 and doc["not_taken"] == 1
    bad = [i for i in doc["issues"] if i["row"] == blank + 1 and i["column"] == "公民身份号码"]
    assert bad and bad[0]["severity"] == "error" and "无证或号码待核" in bad[0]["message"]
    (new,) = [s for s in read_all(district.submissions) if s.person_id is None]
    assert new.values["community_code"] == community and new.values["gender"] == "1"


def test_templates_dropped_into_incoming_import_the_same_way(district: Settings):
    p = person_where(district, "phone IS NOT NULL")
    community = p["community_code"]
    out = district.data / "t.xlsx"
    hub_cli(["form", "template", "--community", community, "--out", str(out)], district.data)
    (x,) = _residents(district, community, 1)
    sheet = Sheet(out)
    sheet.set(x["person_id"], "联系电话", "13322223333")
    district.incoming.mkdir(parents=True, exist_ok=True)
    sheet.save(district.incoming / "社区一张表_随便起的名字.xlsx")
    plain = openpyxl.Workbook()
    plain.active["A1"] = "姓名"
    plain.save(district.incoming / "社区一张表_手工做的.xlsx")
    run = json.loads(hub_cli(["run", "--json"], district.data, check=False).stdout)
    by_file = {x["file"]: x for x in run["loads"]}
    assert by_file["社区一张表_随便起的名字.xlsx"]["status"] == "loaded"
    assert by_file["社区一张表_手工做的.xlsx"]["status"] == "rejected"
    assert run["published"] is not None  # one bad file does not stop the district
    (reason,) = (district.incoming / "rejected").glob("*.reason.txt")
    assert "不是本系统生成的" in reason.read_text(encoding="utf-8")
    with duckdb.connect(str(district.warehouse), read_only=True) as con:
        got = con.execute(
            "SELECT phone FROM core.person WHERE person_id = ?", [x["person_id"]]
        ).fetchall()
    assert got == [("13322223333",)]
    # the second run finds nothing left to retry
    again = json.loads(hub_cli(["run", "--json"], district.data).stdout)
    assert not [x for x in again["loads"] if x["source"] == "community_form"]


def test_hostile_templates_lose_nothing(district: Settings):
    """Found by attacking the import: a change back to an earlier value, two rows for one
    resident, a copied column, a re-upload after the run, digits typed as numbers."""
    p = person_where(district, "phone IS NOT NULL")
    community = p["community_code"]
    client, _ = staff_client(district, "hostile", community)
    (x, y) = _residents(district, community, 2)
    first = district.data / "first.xlsx"
    first.write_bytes(client.get("/template.xlsx").content)
    sheet = Sheet(first)
    sheet.set(x["person_id"], "联系电话", "13300000001")
    # a second row for y, with another phone: reported, the first row alone counts
    dup = max(r for ref, r in sheet.row.items() if ref) + 1
    for c in range(1, sheet.ws.max_column + 1):
        sheet.ws.cell(dup, c).value = sheet.ws.cell(sheet.row[y["person_id"]], c).value
    sheet.set(y["person_id"], "联系电话", "13300000002")
    sheet.set(None, "联系电话", "13300000003", row=dup)
    r = _upload(client, sheet.save(district.data / "one.xlsx"), "one.xlsx")
    assert "人员编号重复" in r.text and re.search(rf"<td>{dup}</td><td>人员编号</td>", r.text)
    phones = {s.person_id: s.values.get("phone") for s in read_all(district.submissions)}
    assert phones[x["person_id"]] == "13300000001" and phones[y["person_id"]] == "13300000002"

    # the hub moves on (a web edit), then a new template sets the phone back
    page = client.get(f"/residents/{x['person_id']}").text
    web = form_of(page) | {"phone": "13300000009"}
    client.post(f"/residents/{x['person_id']}", data=web, follow_redirects=False)
    second = district.data / "second.xlsx"
    second.write_bytes(client.get("/template.xlsx").content)
    again = Sheet(second)
    again.set(x["person_id"], "联系电话", "13300000001")
    r = _upload(client, again.save(district.data / "two.xlsx"), "two.xlsx")
    assert "1 位居民的 1 项修改" in r.text
    latest = [s for s in read_all(district.submissions) if s.person_id == x["person_id"]][-1]
    assert latest.values["phone"] == "13300000001"

    # a re-upload after the run: taken in already, no conflicts
    hub_cli(["run"], district.data)
    r = _upload(client, district.data / "two.xlsx", "two.xlsx")
    assert "此前已导入过" in r.text and "待处理冲突</a> 确认" not in r.text

    # a copied column of the same name is refused, not half-read
    copied = Sheet(second)
    copied.ws.cell(2, copied.ws.max_column + 1).value = "联系电话"
    r = _upload(client, copied.save(district.data / "copied.xlsx"), "copied.xlsx")
    assert r.status_code == 422 and "两列都叫「联系电话」" in r.text

    # long digits: the template keeps them text, so Excel cannot round them
    ws = openpyxl.load_workbook(second)["社区一张表"]
    col = {c.value: c.column for c in ws[2] if c.value}
    blank = ws.max_row  # a row for new residents
    assert ws.cell(blank, col["银行账号"]).number_format == "@"
    assert ws.cell(blank, col["公民身份号码"]).number_format == "@"


def test_renamed_template_in_incoming_is_recognised_by_its_content(district: Settings):
    p = person_where(district, "phone IS NOT NULL")
    out = district.data / "t.xlsx"
    hub_cli(
        ["form", "template", "--community", p["community_code"], "--out", str(out)], district.data
    )
    (x,) = _residents(district, p["community_code"], 1)
    sheet = Sheet(out)
    sheet.set(x["person_id"], "联系电话", "13344445555")
    district.incoming.mkdir(parents=True, exist_ok=True)
    sheet.save(district.incoming / "我填好的表.xlsx")
    run = json.loads(hub_cli(["run", "--json"], district.data).stdout)
    assert {"file": "我填好的表.xlsx", "status": "loaded"}.items() <= next(
        x for x in run["loads"] if x["file"] == "我填好的表.xlsx"
    ).items()
    assert not (district.incoming / "我填好的表.xlsx").exists()
