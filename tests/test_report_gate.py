"""报表准入: a department's draft report checked against what the hub holds, then approved
(the report enters the catalogue and is generated from the golden records), turned into a
share grant, or rejected. Through the real `hub` command on a copy of the sample district."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import yaml

from hub.form.consolidated import derive_form
from hub.form.corrections import CorrectionError, file_correction
from hub.ingest.read import ReadError, read_file
from hub.registry import Registry, load_registry
from hub.reports.catalogue import catalogue
from hub.reports.population import PopulationError, describe_population, parse_population
from hub.reports.proposal import analyse_draft
from hub.reports.proposals import approve, file_proposal
from hub.reports.usage import log_use
from hub.reports.write import file_stem, sheet_name
from hub.settings import Settings
from tests.conftest import Run, copy_schemas, hub_cli
from tests.test_form import form_of, staff_client
from tests.test_reports import PERIOD, csv_rows, expected_rows, published_people

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def write_docx(
    path: Path, title: str, rows: list[list[str]], spans: dict[int, int] | None = None
) -> None:
    """A Word document with a title paragraph and one table (first-row cells may span columns)."""
    spans = spans or {}

    def cell(i: int, r: int, text: str) -> str:
        span = f'<w:tcPr><w:gridSpan w:val="{spans[i]}"/></w:tcPr>' if r == 0 and i in spans else ""
        return f"<w:tc>{span}<w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p></w:tc>"

    table = "".join(
        "<w:tr>" + "".join(cell(i, r, t) for i, t in enumerate(row)) + "</w:tr>"
        for r, row in enumerate(rows)
    )
    doc = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>'
        f"<w:p><w:r><w:t>{escape(title)}</w:t></w:r></w:p><w:tbl>{table}</w:tbl></w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("word/document.xml", doc)


def test_a_word_draft_is_read_like_a_department_file(tmp_path: Path):
    path = tmp_path / "草案.docx"
    write_docx(
        path,
        "城市低保家庭随访表",
        [["序号", "姓名", "公民身份号码", "慢病种类"], ["1", "张三", "", "高血压"]],
    )
    ft = read_file(path)
    assert ft.title == "城市低保家庭随访表"
    assert ft.headers == ["序号", "姓名", "公民身份号码", "慢病种类"]
    assert ft.table.num_rows == 1
    (tmp_path / "空.docx").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(Exception, match=r"空\.docx"):
        read_file(tmp_path / "空.docx")


def test_population_is_written_as_departments_say_it(registry: Registry):
    conds = parse_population("救助类型=城市低保,特困供养；年龄>=60；残疾证号 无值", registry)
    assert [c.model_dump(by_alias=True, exclude_none=True) for c in conds] == [
        {"field": "assistance_type", "in": ["01", "03"]},
        {"age": {"min": 60}},
        {"field": "disability_cert_no", "present": False},
    ]
    assert (
        describe_population(conds, registry)
        == "救助类型为城市低保或特困供养；年龄 60 岁及以上；残疾证号无值"
    )
    with pytest.raises(PopulationError, match="「火星」不在代码表"):
        parse_population("救助类型=火星", registry)
    with pytest.raises(PopulationError, match="没有字段「星座」"):
        parse_population("星座=白羊", registry)


@pytest.fixture
def district(sample_run: Run, tmp_path: Path) -> Settings:
    """A private copy of the published sample district and of its registries."""
    data = tmp_path / "data"
    shutil.copytree(sample_run.data, data)
    return Settings(schemas=copy_schemas(tmp_path / "schemas"), data=data)


def cli(s: Settings, *args: str, check: bool = True) -> Any:
    out = hub_cli([*args], s.data, s.schemas, check=check)
    return json.loads(out.stdout) if check and "--json" in args else out


@pytest.mark.slow
def test_a_near_copy_with_two_new_columns_adds_exactly_two_fields(district: Settings):
    reg = load_registry(district.schemas)
    base = reg.reports["minzheng_dibao_monthly"]
    headers = [c.header for c in base.columns] + ["是否签约家庭医生", "慢病种类"]
    draft = district.data / "民政_低保家庭随访表.csv"
    with draft.open("w", encoding="utf-8", newline="") as fh:
        fh.write("城市低保家庭随访表\n")
        csv.writer(fh).writerow(headers)
    doc = cli(
        district,
        "report",
        "propose",
        str(draft),
        "--department",
        "民政",
        "--population",
        "救助类型=城市低保",
        "--json",
    )
    cols = {c["header"]: c for c in doc["columns"]}
    # every column of the existing report is held, with the department whose data it is
    for c in base.columns:
        if c.field:
            assert cols[c.header]["status"] == "held", c.header
            assert cols[c.header]["field"] == c.field
    assert cols["低保证号"]["authority"] == ["民政局"]
    assert cols["低保证号"]["sources"] == ["民政局", "社区一张表"]
    assert "公安分局" in cols["姓名"]["authority"]
    assert cols["低保证号"]["have"] == doc["rows"] > 0
    assert [c["header"] for c in doc["columns"] if c["status"] == "new"] == [
        "是否签约家庭医生",
        "慢病种类",
    ]
    assert cols["是否签约家庭医生"]["proposed"]["type"] == "boolean"
    top = doc["overlaps"][0]
    assert top["report"] == "minzheng_dibao_monthly"
    assert top["text"] == f"与《{base.title}》有 {len(base.fields)} 个字段相同"
    assert top["same_people"] == doc["rows"]
    cost = doc["cost"]
    assert cost["without_hub"]["entries_per_period"] == doc["rows"] * (len(headers) - 1)
    missing = sum(doc["rows"] - c["have"] for c in doc["columns"] if c["status"] == "held")
    assert cost["with_hub"]["entries_per_period"] == doc["rows"] * 2 + missing
    assert cost["with_hub"]["indicators"] == 2

    form_before = _form_fields(reg)
    pid = doc["id"][:8]
    done = cli(
        district,
        "proposal",
        "approve",
        pid,
        "--field",
        "慢病种类=chronic_disease,慢性病种类",
        "--json",
    )
    assert sorted(done["fields"]) == ["chronic_disease", "shi_fou_qian_yue_jia_ting_yi_sheng"]
    again = cli(district, "proposal", "approve", pid, check=False)  # the second click
    assert again.returncode == 2 and "已处理（已同意" in again.stderr
    after = load_registry(district.schemas)
    assert _form_fields(after) - form_before == {
        "chronic_disease",
        "shi_fou_qian_yue_jia_ting_yi_sheng",
    }
    assert _form_fields(after) >= form_before
    report = after.reports[done["report"]]
    assert [c.header for c in report.columns] == headers
    assert report.approved_by and report.asks == sorted(done["fields"])

    cli(district, "run", "--json")
    out = cli(
        district, "report", "generate", "--period", PERIOD, "--department", report.name, "--json"
    )
    people = published_people(district.data)
    header, got = csv_rows(Path(out[0]["csv"]), report)
    assert header == headers
    assert got == expected_rows(after, report, people)
    assert len(got) == doc["rows"]
    listed = {e["name"]: e for e in cli(district, "report", "list", "--json")}
    assert listed[report.name]["status"] == "在用"
    assert listed[report.name]["last_generated"] is not None


@pytest.mark.slow
def test_a_draft_the_hub_already_holds_becomes_a_share_the_department_queries(district: Settings):
    draft = district.data / "高龄老人名单.docx"
    write_docx(draft, "高龄老人名单", [["序号", "姓名", "身份证号码", "性别", "年龄", "联系电话"]])
    doc = cli(
        district,
        "report",
        "propose",
        str(draft),
        "--department",
        "卫健委",
        "--population",
        "年龄>=80",
        "--json",
    )
    assert doc["counts"] == {"held": 4, "derivable": 1, "computed": 1, "new": 0}
    assert doc["cost"]["with_hub"]["entries_per_period"] == sum(
        doc["rows"] - c["have"] for c in doc["columns"] if c["status"] == "held"
    )
    done = cli(district, "proposal", "share", doc["id"][:8], "--why", "按需查询即可", "--json")
    share = yaml.safe_load(
        (district.schemas / "shares" / f"{done['share']}.yaml").read_text("utf-8")
    )
    assert share["department"] == "卫生健康局"
    assert share["rows"]["population"] == [{"age": {"min": 80}}]
    assert date.fromisoformat(share["expires"]) > date.today()
    listed = {e["name"]: e for e in cli(district, "report", "list", "--json")}
    assert listed[doc["id"][:12]]["status"] == "改为共享"

    cli(district, "run", "--json")
    token = cli(district, "token", "create", "--department", "卫健委", "--name", "随访", "--json")[
        "token"
    ]
    rows = json.loads(
        hub_cli(
            [
                "query",
                f"SELECT count(*) AS n FROM {done['share']}",
                "--token",
                token,
                "--purpose",
                "高龄随访",
                "--format",
                "json",
            ],
            district.data,
            district.schemas,
        ).stdout
    )
    assert rows == [{"n": doc["rows"]}]


@pytest.mark.slow
def test_a_rejected_draft_keeps_its_reason_and_cannot_be_shared_or_decided_twice(
    district: Settings,
):
    draft = district.data / "新表.csv"
    draft.write_text("序号,姓名,宠物名称\n", encoding="utf-8")
    doc = cli(district, "report", "propose", str(draft), "--department", "街道", "--json")
    assert "按全区居民估算" in " ".join(doc["notes"])
    assert doc["rows"] == len(published_people(district.data))
    pid = doc["id"][:8]
    refused = cli(district, "proposal", "share", pid, check=False)
    assert refused.returncode == 2 and "宠物名称" in refused.stderr
    assert cli(district, "request", "accept", pid, check=False).returncode == 2
    no_reason = cli(district, "proposal", "reject", pid, "--why", " ", check=False)
    assert no_reason.returncode == 2 and "原因" in no_reason.stderr
    cli(district, "proposal", "reject", pid, "--why", "与网格登记表重复", "--json")
    entry = {e["name"]: e for e in cli(district, "report", "list", "--json")}[doc["id"][:12]]
    assert entry["status"] == "已驳回"
    assert cli(district, "proposal", "approve", pid, check=False).returncode == 2
    assert not list((district.schemas / "reports").glob("jiedao*.yaml"))


def test_reports_nobody_generates_or_downloads_are_flagged(hub_home: Settings):
    reg = load_registry(hub_home.schemas)
    names = sorted(reg.reports)
    old, recent = "2026-01-05T09:00:00", "2026-05-20T09:00:00"
    lines = [
        {"event": "generated", "report": names[0], "at": old},
        {"event": "generated", "report": names[1], "at": recent},
        {"event": "generated", "report": names[2], "at": recent},
        {"event": "downloaded", "report": names[2], "at": recent},
    ]
    path = hub_home.reports / "usage.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    monthly = [n for n in names[:3] if reg.reports[n].period == "monthly"]
    assert len(monthly) == 3, "the first three reports of the sample registry are monthly"
    got = {e.name: e.review for e in catalogue(hub_home, reg, today=date(2026, 6, 1))}
    assert got[names[0]] == "近 3 个月未生成"
    assert got[names[1]] == "近 3 个月无人下载"
    assert got[names[2]] is None
    # a catalogue younger than the review window is not judged yet
    assert all(e.review is None for e in catalogue(hub_home, reg, today=date(2026, 1, 20)))
    log_use(hub_home.reports, "downloaded", names[1], "2026-05", "test")  # logged now
    assert {e.name: e.review for e in catalogue(hub_home, reg)}[names[1]] == "近 3 个月未生成"
    again = {e.name: e.review for e in catalogue(hub_home, reg, today=date(2026, 6, 1))}
    assert again[names[1]] is None


def _form_fields(reg: Registry) -> set[str]:
    return {f.name for fs in derive_form(reg).groups.values() for f in fs}


@pytest.mark.slow
def test_flow_back_figures_follow_what_staff_were_shown_and_what_was_decided(district: Settings):
    period = date.today().strftime("%Y-%m")

    def figures() -> tuple[dict[str, Any], dict[str, Any]]:
        doc = cli(district, "burden", "--period", period, "--json")["flow_back"]
        return {c["community"]: c for c in doc["communities"]}, doc["proposals"]

    people = [p for p in published_people(district.data) if p["community_code"] and p["name"]]
    p = people[0]
    community = p["community_code"]
    before, decided = figures()
    assert before[community]["records_returned"] == 0
    client, csrf = staff_client(district, "hui", community)
    page = client.get(f"/residents/{p['person_id']}").text
    after, _ = figures()
    mine = after[community]
    assert mine["records_returned"] == 1
    assert mine["fields_prefilled"] >= 3 and mine["fields_verified"] == mine["fields_prefilled"]
    # the worker changes one value a department gave: it is no longer only verified
    held = [f for f in ("phone", "current_address", "marital_status", "education") if p.get(f)]
    field = held[0]
    values = form_of(page) | {field: "13912345678" if field == "phone" else "其他地址1号"}
    r = client.post(f"/residents/{p['person_id']}", data=values, follow_redirects=False)
    assert r.status_code == 303
    changed, _ = figures()
    assert changed[community]["fields_verified"] == mine["fields_verified"] - 1
    # a correction filed and accepted moves both counts
    r = client.post(
        f"/residents/{p['person_id']}/correct",
        data={"csrf": csrf, "field": "name", "new": p["name"] + "甲", "reason": "户口簿"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    filed, _ = figures()
    assert (filed[community]["corrections_filed"], filed[community]["corrections_accepted"]) == (
        1,
        0,
    )
    (req,) = cli(district, "corrections", "list", "--json")
    cli(district, "corrections", "accept", req["id"][:10], "--json")
    accepted, _ = figures()
    assert accepted[community]["corrections_accepted"] == 1
    # a rejected proposal avoids all it would have cost
    draft = district.data / "草案.csv"
    draft.write_text("序号,姓名,公民身份号码,宠物名称\n", encoding="utf-8")
    doc = cli(district, "report", "propose", str(draft), "--department", "民政", "--json")
    cli(district, "proposal", "reject", doc["id"][:8], "--why", "不必要", "--json")
    _, now = figures()
    assert now["rejected"] == decided["rejected"] + 1
    avoided = doc["cost"]["without_hub"]["entries_per_year"]
    assert avoided > 0
    assert now["entries_per_year_avoided"] == decided["entries_per_year_avoided"] + avoided


def test_hostile_drafts_get_a_clear_word_and_fake_samples_do_not_mislead(
    hub_home: Settings, tmp_path: Path
):
    reg = load_registry(hub_home.schemas)
    bad = {
        "损坏.docx": (b"PK\x03\x04 broken", "Word 文档不完整或已损坏"),
        "旧版.doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "不支持的文件类型 .doc"),
        "空.csv": (b"", "文件是空的"),
    }
    for name, (body, said) in bad.items():
        (tmp_path / name).write_bytes(body)
        with pytest.raises(ReadError, match=said):
            analyse_draft(hub_home, reg, tmp_path / name, "民政局", None, None, None)
    plain = tmp_path / "无表格.docx"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr(
            "word/document.xml", f'<w:document xmlns:w="{W}"><w:body><w:p/></w:body></w:document>'
        )
    with pytest.raises(ReadError, match="没有表格"):
        analyse_draft(hub_home, reg, plain, "民政局", None, None, None)

    # a made-up sample ID (bad check digit) does not unmap 身份证号; a second 联系电话 (the
    # guardian's) is not the resident's phone again
    draft = tmp_path / "走访表.csv"
    draft.write_text(
        "序号,姓名,身份证号,联系电话,监护人,联系电话\n1,张三,110101199001011230,13800000000,李四,13900000000\n",
        encoding="utf-8",
    )
    a = analyse_draft(hub_home, reg, draft, "民政局", None, None, "quarterly")
    got = [(c.header, c.status, c.field) for c in a.columns]
    assert got[:4] == [
        ("序号", "computed", None),
        ("姓名", "held", "name"),
        ("身份证号", "held", "citizen_id"),
        ("联系电话", "held", "phone"),
    ]
    assert got[5][1] == "new" and got[5][2] is None
    assert a.rows is None and "尚未发布数据" in " ".join(a.notes)
    assert a.cost["periods_a_year"] == 4


def test_a_title_cannot_write_the_registry_or_leave_its_folder(hub_home: Settings, tmp_path: Path):
    reg = load_registry(hub_home.schemas)
    draft = tmp_path / "草案.csv"
    draft.write_text("序号,姓名,走访频次\n", encoding="utf-8")
    title = "../../走访表\nissuer: 伪造单位\nstatus: 已停用\n#"
    a = analyse_draft(hub_home, reg, draft, "民政局", title, None, None)
    assert "\n" not in a.title
    req = file_proposal(hub_home, a, draft, "民政局：测试")
    # a second department proposes 走访频次 too, before the first is let in
    b = analyse_draft(hub_home, reg, draft, "卫生健康局", "随访表", None, None)
    done = approve(hub_home, reg, req, "减负办：测试")
    report = load_registry(hub_home.schemas).reports[done["report"]]
    assert report.status == "在用" and report.issuer is None
    assert report.asks == done["fields"] == ["zou_fang_pin_ci"]
    assert "/" not in file_stem(report.title) and not file_stem("../x").startswith(".")
    assert sheet_name("低保/特困:[名册]*?") == "低保_特困__名册___"
    # its 走访频次 gets a field (and label) of its own, unless the 减负办 points it at the first
    other = approve(
        hub_home,
        load_registry(hub_home.schemas),
        file_proposal(hub_home, b, draft, "卫健"),
        "减负办",
    )
    assert other["fields"] == ["zou_fang_pin_ci_2"]
    assert load_registry(hub_home.schemas).fields["zou_fang_pin_ci_2"].label == "走访频次（随访表）"


def test_a_correction_is_judged_and_written_as_the_pipeline_would(hub_home: Settings):
    reg = load_registry(hub_home.schemas)
    form = derive_form(reg)
    person = {
        "person_id": "P1",
        "name": "赵六",
        "citizen_id": "330102195001011238",
        "assistance_amount": 817,
        "assistance_type": None,
    }
    req = file_correction(
        hub_home.requests,
        reg,
        form,
        person,
        "assistance_amount",
        "1,234.5",
        "核定表",
        "w",
        "330199001001",
    )
    assert (req.payload["old"], req.payload["new"]) == ("817", "1234.5")
    with pytest.raises(CorrectionError, match="还没有登记的值"):
        file_correction(
            hub_home.requests,
            reg,
            form,
            person,
            "assistance_type",
            "01",
            "低保",
            "w",
            "330199001001",
        )
    with pytest.raises(CorrectionError, match="待民政局确认"):
        file_correction(
            hub_home.requests,
            reg,
            form,
            person,
            "assistance_amount",
            "900",
            "又一次",
            "w",
            "330199001001",
        )
    with pytest.raises(CorrectionError, match="不由部门登记"):
        file_correction(
            hub_home.requests,
            reg,
            form,
            person,
            "citizen_id",
            "330102195001011220",
            "x",
            "w",
            "330199001001",
        )
