"""报表准入 in a real browser: a department user submits a draft, the 减负办 approves it, the
report appears in the catalogue and, after the next run, the department downloads it. Each
role sees only its own pages. Screenshots (desktop and 390 px) go to test-artifacts/."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from hub.publish.snapshot import dataset_sql
from hub.registry import load_registry
from hub.settings import Settings
from tests.conftest import Run, copy_schemas, hub_cli
from tests.test_browser import PHONE, browser, shot  # noqa: F401 - the browser fixture
from tests.test_form import PASSWORD, copy_run, person_where, serve
from tests.test_report_gate import write_docx


@pytest.fixture(scope="module")
def gate(
    sample_run: Run, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str]]:
    root = tmp_path_factory.mktemp("gate")
    s = copy_run(sample_run, root / "data")
    s = Settings(schemas=copy_schemas(root / "schemas"), data=s.data)
    for args in (
        ["mz01", "--role", "部门", "--department", "民政"],
        ["wj01", "--role", "部门", "--department", "卫健委"],
        ["jfb01", "--role", "减负办"],
    ):
        hub_cli(["user", "add", *args, "--password", PASSWORD], s.data, s.schemas)
    with serve(s) as (base, _):
        yield s, base


def log_in(chromium: Browser, base: str, user: str, viewport: dict[str, int] | None = None) -> Page:
    page = chromium.new_context(
        locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900}
    ).new_page()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page


@pytest.mark.slow
def test_a_department_draft_is_approved_and_generated(
    browser: Browser,  # noqa: F811 - the fixture of test_browser
    gate: tuple[Settings, str],
    tmp_path: Path,
):
    s, base = gate
    draft = tmp_path / "低保家庭随访表.docx"
    write_docx(
        draft,
        "城市低保家庭随访表",
        [
            [
                "序号",
                "姓名",
                "公民身份号码",
                "年龄",
                "低保证号",
                "联系电话",
                "是否签约家庭医生",
                "慢病种类",
            ]
        ],
    )
    dept = log_in(browser, base, "mz01")
    expect(dept.get_by_role("heading", name="民政局的报表")).to_be_visible()
    shot(dept, "gate-dept")
    dept.get_by_label("报表草案").set_input_files(str(draft))
    dept.get_by_label("填报人群").fill("救助类型=城市低保")
    dept.get_by_role("button", name="提交审核").click()
    expect(dept.get_by_role("heading", name="民政局《城市低保家庭随访表》")).to_be_visible()
    expect(dept.locator("tr.col-new")).to_have_count(2)
    expect(dept.locator("tr.col-held")).to_have_count(4)
    expect(dept.get_by_text("与《城市居民最低生活保障对象月报花名册》有")).to_be_visible()
    expect(dept.get_by_role("button", name="批准")).to_have_count(
        0
    )  # not the department's to decide
    shot(dept, "gate-proposal-dept")
    proposal_url = dept.url

    # the department cannot reach the 减负办's pages, nor community pages
    dept.goto(f"{base}/admin")
    expect(dept).to_have_url(f"{base}/dept")
    dept.goto(f"{base}/")
    expect(dept).to_have_url(f"{base}/dept")
    other = log_in(browser, base, "wj01")
    other.goto(proposal_url)
    expect(other.get_by_text("没有这条报表准入申请")).to_be_visible()

    admin = log_in(browser, base, "jfb01")
    expect(admin.get_by_role("heading", name="报表准入审核")).to_be_visible()
    admin.get_by_role("link", name="城市低保家庭随访表").click()
    shot(admin, "gate-proposal-admin")
    phone = log_in(browser, base, "jfb01", PHONE)
    phone.goto(proposal_url)
    shot(phone, "gate-proposal-admin-390")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    admin.locator("input[name=name_1]").fill("chronic_disease")
    admin.get_by_label("说明 / 依据").fill("《低保家庭随访办法》")
    admin.get_by_role("button", name="批准").click()
    expect(admin.get_by_role("status")).to_contain_text("已批准")
    admin.goto(proposal_url)
    expect(admin.get_by_role("button", name="批准")).to_have_count(0)  # decided: no second click

    reg = load_registry(s.schemas)
    assert [r.asks for r in reg.reports.values() if r.title == "城市低保家庭随访表"] == [
        ["chronic_disease", "shi_fou_qian_yue_jia_ting_yi_sheng"]
    ]
    assert "chronic_disease" in reg.fields
    admin.goto(f"{base}/catalogue")
    row = admin.locator("tr", has_text="城市低保家庭随访表")
    expect(row).to_contain_text("在用")
    expect(row).to_contain_text("《低保家庭随访办法》")
    shot(admin, "gate-catalogue")

    # the running app asks the new fields at once: the one form grew by exactly them
    p = person_where(s, "assistance_type = '01'")
    hub_cli(
        ["user", "add", "sq09", "--community", p["community_code"], "--password", PASSWORD],
        s.data,
        s.schemas,
    )
    worker = log_in(browser, base, "sq09")
    worker.goto(f"{base}/residents/{p['person_id']}")
    expect(worker.locator(".field[data-field=chronic_disease]")).to_be_visible()
    expect(
        worker.locator("fieldset", has_text="城市低保家庭随访表").locator(".field")
    ).to_have_count(2)

    hub_cli(["run", "--json"], s.data, s.schemas)
    dept.goto(f"{base}/dept")
    with dept.expect_download() as got:
        dept.locator("tr", has_text="城市低保家庭随访表").get_by_role(
            "link", name="下载 Excel"
        ).click()
    path = tmp_path / "report.xlsx"
    got.value.save_as(path)
    ws = openpyxl.load_workbook(path).active
    cells = [[c.value for c in r] for r in ws.iter_rows()]
    header_row = next(i for i, r in enumerate(cells) if r[:2] == ["序号", "姓名"])
    assert cells[header_row][-2:] == ["是否签约家庭医生", "慢病种类"]
    body = [r for r in cells[header_row + 1 :] if isinstance(r[0], int)]
    assert p["citizen_id"] in {r[2] for r in body}
    assert len(body) == len({r[2] for r in body}) > 0
    admin.goto(f"{base}/catalogue")
    row = admin.locator("tr", has_text="城市低保家庭随访表")
    expect(row.locator("td[data-label=最近下载]")).not_to_have_text("—")


@pytest.mark.slow
def test_community_staff_cannot_open_the_gate_pages(gate: tuple[Settings, str]):
    s, base = gate
    p = person_where(s, "true")
    hub_cli(
        ["user", "add", "sq01", "--community", p["community_code"], "--password", PASSWORD],
        s.data,
        s.schemas,
    )
    with httpx.Client(base_url=base) as http:
        http.post("/login", data={"username": "sq01", "password": PASSWORD})
        for path in ("/dept", "/admin", "/dept/reports/minzheng_dibao_monthly.xlsx"):
            r = http.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/", path
        r = http.post("/proposals/x", data={"action": "approve"})
        assert r.status_code == 303 and r.headers["location"] == "/"


@pytest.mark.slow
def test_a_worker_correction_accepted_by_the_authority_reaches_core_and_reports(
    browser: Browser,  # noqa: F811 - the fixture of test_browser
    gate: tuple[Settings, str],
):
    s, base = gate
    with duckdb.connect() as con:
        pid, cid, old, community = con.execute(
            f"SELECT p.person_id, p.citizen_id, p.name, p.community_code "
            f"FROM ({dataset_sql(s.published, 'person')}) p "
            f"JOIN ({dataset_sql(s.published, 'provenance')}) v USING (person_id) "
            "WHERE v.field = 'name' AND v.selected AND v.source = 'gongan_household' "
            "AND p.assistance_type = '01' AND p.citizen_id IS NOT NULL ORDER BY 1 LIMIT 1"
        ).fetchone()
    hub_cli(
        ["user", "add", "sq02", "--community", community, "--password", PASSWORD], s.data, s.schemas
    )
    hub_cli(
        ["user", "add", "ga01", "--role", "部门", "--department", "公安", "--password", PASSWORD],
        s.data,
        s.schemas,
    )

    worker = log_in(browser, base, "sq02")
    worker.goto(f"{base}/residents/{pid}")
    name_field = worker.locator(".field[data-field=name]")
    expect(name_field.locator(".authority")).to_contain_text("以公安分局登记为准")
    name_field.get_by_role("link", name="申请更正").click()
    expect(worker.get_by_role("heading", name=f"申请更正：{old}的姓名")).to_be_visible()
    worker.get_by_label("应更正为").fill(old)  # the same value: refused, nothing filed
    worker.get_by_label("更正理由").fill("户口簿为此名")
    worker.get_by_role("button", name="提交更正申请").click()
    expect(worker.get_by_role("alert")).to_contain_text("无需更正")
    worker.get_by_label("应更正为").fill(old + "明")
    worker.get_by_role("button", name="提交更正申请").click()
    expect(worker.get_by_role("status")).to_contain_text("已提交更正申请")
    expect(worker.locator("section.corrections")).to_contain_text("待确认")
    shot(worker, "correction-filed")

    police = log_in(browser, base, "ga01")
    police.goto(f"{base}/dept/corrections")
    row = police.locator("tr", has_text=old + "明")
    expect(row).to_contain_text("户口簿为此名")
    shot(police, "correction-queue")
    row.get_by_role("button", name="确认更正").click()
    expect(police.get_by_role("status")).to_contain_text("已确认更正")
    # the community worker cannot answer the department's queue
    assert (
        worker.request.post(
            f"{base}/dept/corrections/x", form={"action": "accept"}, max_redirects=0
        ).status
        == 303
    )

    hub_cli(["run", "--json"], s.data, s.schemas)
    with duckdb.connect(str(s.warehouse), read_only=True) as con:
        assert con.execute(
            "SELECT name FROM core.person WHERE person_id = ?", [pid]
        ).fetchall() == [(old + "明",)]
    out = json.loads(
        hub_cli(
            [
                "report",
                "generate",
                "--period",
                "2025-10",
                "--department",
                "minzheng_dibao_monthly",
                "--json",
            ],
            s.data,
            s.schemas,
        ).stdout
    )
    with open(out[0]["csv"], encoding="utf-8-sig", newline="") as fh:
        rows = {r["公民身份号码"]: r for r in csv.DictReader(fh)}
    assert rows[cid]["姓名"] == old + "明"
    worker.goto(f"{base}/residents/{pid}")
    expect(worker.locator("#f-name")).to_have_value(old + "明")
    expect(worker.locator("section.corrections")).to_contain_text("已确认更正")
    expect(name_field.locator(".origin")).to_contain_text("确认社区更正")
    shot(worker, "correction-accepted")
