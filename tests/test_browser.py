"""The staff web app in a real browser (Debian's chromium, headless, driven by Playwright).

Log in, find a resident, change the phone and a code-list field, submit (twice, quickly),
see it 待归集, run the pipeline and find it in the 民政 report; a new resident with an invalid
ID is blocked until marked 无证 / 号码待核; a filled template is uploaded through the page; the
phone layout keeps 提交 on screen; another community's worker cannot open the resident; the
data-quality page renders with the network cut. Every page visited leaves a screenshot in
`test-artifacts/screenshots/`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hub.form.submissions import read_all
from hub.registry import Registry
from hub.settings import Settings
from hub.validate.quality_page import docs_index
from tests.conftest import REPO, Run, hub_cli
from tests.test_form import PASSWORD, copy_run, other_community, person_where, serve

CHROMIUM = "/usr/bin/chromium"
HEADLESS_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--lang=zh-CN",
]
SHOTS = REPO / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("缺少 /usr/bin/chromium：make test 会安装它（make browser）")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=HEADLESS_FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(
    sample_run: Run, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str]]:
    s = copy_run(sample_run, tmp_path_factory.mktemp("browser") / "data")
    with serve(s) as (base, _):
        yield s, base


def shot(page: Page, name: str) -> Path:
    """One screenshot per page visited (the whole page), for a person to look at."""
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def log_in(browser: Browser, base: str, user: str, viewport: dict[str, int] | None = None) -> Page:
    context = browser.new_context(
        locale="zh-CN", viewport=viewport or {"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{base}/residents/new")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    shot(page, f"login-{page.viewport_size['width']}")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="查找本社区居民")).to_be_visible()
    return page


def staff(s: Settings, user: str, community: str) -> None:
    hub_cli(["user", "add", user, "--community", community, "--password", PASSWORD], s.data)


def test_worker_updates_a_resident_and_the_report_shows_it(
    browser: Browser, served: tuple[Settings, str], registry: Registry
):
    s, base = served
    p = person_where(s, "assistance_type = '01' AND employment_status IS DISTINCT FROM '70'")
    staff(s, "wang", p["community_code"])
    page = log_in(browser, base, "wang")

    page.get_by_label("姓名或身份证号码").fill(p["name"])
    page.get_by_role("button", name="查找").click()
    shot(page, "search-results")
    page.get_by_role("link", name=p["name"]).first.click()
    expect(page.get_by_role("heading", name=p["name"])).to_be_visible()
    expect(page.locator("#f-citizen_id")).to_have_value(p["citizen_id"])
    expect(page.locator("#f-citizen_id")).to_have_attribute("readonly", "")  # a known ID is fixed
    expect(page.locator(".field[data-field=assistance_type] .origin")).to_contain_text(
        "来自 民政局"
    )
    shot(page, "resident")

    # a wrong phone is flagged inline with the pipeline's message, then corrected
    page.locator("#f-phone").fill("12345")
    page.locator("#f-phone").dispatch_event("change")
    expect(page.locator(".field[data-field=phone] .issues")).to_contain_text("电话号码格式不正确")
    page.locator("#f-phone").fill("13812345678")
    page.locator("#f-employment_status").select_option(label="无业人员")
    expect(page.locator(".field[data-field=phone] .issues")).to_be_empty()
    page.get_by_role("button", name="提交").dblclick()  # the worker clicks twice
    expect(page.get_by_role("status")).to_contain_text("已提交")
    # after submitting, the page shows what was submitted, marked 待归集
    expect(page.locator("#f-phone")).to_have_value("13812345678")
    expect(page.locator(".field[data-field=phone] .pending")).to_contain_text("待归集")
    expect(page.locator(".field[data-field=employment_status] .pending")).to_contain_text("待归集")
    shot(page, "resident-pending")
    # back, and 提交 once more: nothing new to file (the page knows what is pending)
    page.go_back()
    page.get_by_role("button", name="提交").click()
    again = page.get_by_role("status").filter(has_text=re.compile("已提交|没有修改"))
    expect(again.first).to_be_visible()
    mine = [x for x in read_all(s.submissions) if x.person_id == p["person_id"]]
    assert len(mine) == 1 and sorted(mine[0].changed or []) == ["employment_status", "phone"]

    hub_cli(["run"], s.data)
    hub_cli(["report", "generate", "--period", "2025-10", "--department", "民政局"], s.data)
    title = registry.reports["minzheng_dibao_monthly"].title
    (path,) = (s.reports / "2025-10" / "民政局").glob(f"{title}_*.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        (row,) = [r for r in csv.DictReader(fh) if r["公民身份号码"] == p["citizen_id"]]
    assert row["联系电话"] == "13812345678"
    assert row["就业状况"] == "无业人员"

    page.goto(f"{base}/residents/{p['person_id']}")  # the run took it in: no longer pending
    expect(page.locator("#f-phone")).to_have_value("13812345678")
    expect(page.locator(".field[data-field=phone] .origin")).to_contain_text("来自 社区（一张表）")
    expect(page.locator(".pending")).to_have_count(0)
    shot(page, "resident-after-run")


def test_invalid_id_blocks_a_new_resident_unless_marked(
    browser: Browser, served: tuple[Settings, str]
):
    s, base = served
    p = person_where(s, "true")
    staff(s, "zhou", p["community_code"])
    page = log_in(browser, base, "zhou")
    page.get_by_role("link", name="新增居民").click()
    shot(page, "new-resident")
    page.locator("#f-name").fill("王无证")
    page.locator("#f-citizen_id").fill("330106198802301234")  # 2 月 30 日, bad check digit
    page.locator("#f-gender").select_option(label="女")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("alert")).to_contain_text("必须修改后才能提交")
    issues = page.locator(".field[data-field=citizen_id] .issues")
    expect(issues).to_contain_text("身份证号码")
    expect(issues).to_contain_text("无证或号码待核")
    shot(page, "new-resident-invalid-id")
    assert not [x for x in read_all(s.submissions) if x.values.get("name") == "王无证"]

    page.locator("#f-id_unverified").select_option(label="是")  # explicitly 号码待核
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="新增居民：王无证")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("待归集")
    shot(page, "new-resident-confirmed")
    (sub,) = [x for x in read_all(s.submissions) if x.values.get("name") == "王无证"]
    assert sub.values["id_unverified"] == "1" and sub.person_id is None

    # a valid new resident is linked to its page once a run took it in
    page.get_by_role("link", name="继续新增居民").click()
    page.locator("#f-name").fill("林新来")
    page.locator("#f-citizen_id").fill("330102199001011234")
    page.locator("#f-gender").select_option(label="男")
    page.locator("#f-birth_date").fill("1990-01-01")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="新增居民：林新来")).to_be_visible()
    url = page.url
    hub_cli(["run"], s.data)
    page.goto(url)
    page.get_by_role("link", name="打开 林新来 的一张表").click()
    expect(page.locator("#f-citizen_id")).to_have_value("330102199001011234")
    shot(page, "new-resident-after-run")


def test_upload_a_filled_template_through_the_page(
    browser: Browser, served: tuple[Settings, str], tmp_path: Path
):
    s, base = served
    p = person_where(s, "phone IS NOT NULL AND assistance_type IS NULL")
    staff(s, "sun", p["community_code"])
    page = log_in(browser, base, "sun")
    page.get_by_role("link", name="Excel 模板").click()
    shot(page, "upload")
    with page.expect_download() as dl:
        page.get_by_role("link", name="下载本社区预填模板").click()
    template = tmp_path / "downloaded.xlsx"
    dl.value.save_as(template)
    wb = openpyxl.load_workbook(template)
    ws = wb["社区一张表"]
    col = {c.value: c.column for c in ws[2] if c.value}
    row = next(
        r for r in range(3, ws.max_row + 1) if ws.cell(r, col["人员编号"]).value == p["person_id"]
    )
    ws.cell(row, col["联系电话"]).value = "13566667777"
    filled = tmp_path / "填好了.xlsx"  # renamed by the worker
    wb.save(filled)
    page.locator("input[type=file]").set_input_files(str(filled))
    page.get_by_role("button", name="上传并导入").click()
    status = page.get_by_role("status").first
    expect(status).to_contain_text("已导入「填好了.xlsx」")
    expect(status).to_contain_text("1 位居民的 1 项修改")
    shot(page, "upload-result")
    (sub,) = [x for x in read_all(s.submissions) if x.person_id == p["person_id"]]
    assert sub.changed == ["phone"] and sub.values["phone"] == "13566667777"
    page.get_by_role("link", name="待处理冲突").first.click()
    expect(page.get_by_role("heading", name="待处理冲突")).to_be_visible()
    shot(page, "conflicts")


def test_phone_layout_keeps_submit_on_screen(browser: Browser, served: tuple[Settings, str]):
    s, base = served
    p = person_where(s, "current_address IS NOT NULL")
    staff(s, "li2", p["community_code"])
    page = log_in(browser, base, "li2", viewport=PHONE)
    logout = page.get_by_role("button", name="退出").bounding_box()
    assert logout is not None and logout["height"] < 40  # one line, not wrapped
    page.get_by_label("姓名或身份证号码").fill(p["name"])
    page.get_by_role("button", name="查找").click()
    card = page.locator("table.results tbody tr").first
    expect(card).to_be_visible()
    assert card.evaluate("e => getComputedStyle(e).display") == "block"  # results as cards
    address = card.locator("td").nth(3).bounding_box()
    assert address is not None and address["width"] > 250  # not one character per line
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "search-results-390")
    card.get_by_role("link").click()
    page.locator(".field").last.scroll_into_view_if_needed()
    box = page.get_by_role("button", name="提交").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "resident-390")


def test_worker_of_another_community_cannot_open_the_resident(
    browser: Browser, served: tuple[Settings, str], registry: Registry
):
    s, base = served
    p = person_where(s, "assistance_type = '01'")
    other = other_community(registry, p["community_code"])
    staff(s, "li", other)
    page = log_in(browser, base, "li")
    page.get_by_label("姓名或身份证号码").fill(p["citizen_id"])
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_role("link", name=p["name"])).to_have_count(0)
    resp = page.goto(f"{base}/residents/{p['person_id']}")
    assert resp is not None and resp.status == 404
    expect(page.locator("body")).to_contain_text("不属于本社区")
    expect(page.locator("#f-citizen_id")).to_have_count(0)
    shot(page, "not-found")


def test_quality_page_renders_offline(browser: Browser, sample_run: Run):
    index = docs_index(sample_run.data)
    context = browser.new_context(locale="zh-CN")
    blocked: list[str] = []

    def cut(route: object) -> None:  # every request but the file itself fails
        req = route.request  # type: ignore[attr-defined]
        if req.url.startswith("file:"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(req.url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", cut)
    page = context.new_page()
    page.goto(index.as_uri())
    expect(page.get_by_role("heading", name=re.compile("数据质量报告"))).to_be_visible()
    rows = page.locator("table.validations tbody tr")
    assert rows.count() > 30
    expect(page.locator("table.validations").first).to_contain_text("通过")
    assert blocked == []  # it needs nothing from the network
    shot(page, "quality")
    context.close()
