"""The staff web app in a real browser (Debian's chromium, headless, driven by Playwright):
log in, find a resident, change the phone and a code-list field, submit, run the pipeline,
and find the new values in the generated 民政 report; a worker of another community cannot
open that resident, not even by typing the URL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from hub.registry import Registry
from hub.settings import Settings
from tests.conftest import Run, hub_cli
from tests.test_form import PASSWORD, copy_run, other_community, person_where, serve

CHROMIUM = "/usr/bin/chromium"
HEADLESS_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("缺少 /usr/bin/chromium：make test 会安装它（make browser）")
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


def log_in(browser: Browser, base: str, user: str):
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/residents/new")
    expect(page.get_by_role("heading", name="社区工作人员登录")).to_be_visible()
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="查找本社区居民")).to_be_visible()
    return page


def test_worker_updates_a_resident_and_the_report_shows_it(
    browser: Browser, served: tuple[Settings, str], registry: Registry
):
    s, base = served
    p = person_where(s, "assistance_type = '01' AND employment_status IS DISTINCT FROM '70'")
    hub_cli(
        ["user", "add", "wang", "--community", p["community_code"], "--password", PASSWORD], s.data
    )
    page = log_in(browser, base, "wang")

    page.get_by_label("姓名或身份证号码").fill(p["name"])
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name=p["name"]).first.click()
    expect(page.get_by_role("heading", name=p["name"])).to_be_visible()
    expect(page.locator("#f-citizen_id")).to_have_value(p["citizen_id"])
    expect(page.locator(".field[data-field=assistance_type] .origin")).to_contain_text(
        "来自 民政局"
    )

    # a wrong phone is flagged inline with the pipeline's message, then corrected
    page.locator("#f-phone").fill("12345")
    page.locator("#f-phone").dispatch_event("change")
    expect(page.locator(".field[data-field=phone] .issues")).to_contain_text("电话号码格式不正确")
    page.locator("#f-phone").fill("13812345678")
    page.locator("#f-employment_status").select_option(label="无业人员")
    expect(page.locator(".field[data-field=phone] .issues")).to_be_empty()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_contain_text("已提交")

    hub_cli(["run"], s.data)
    hub_cli(["report", "generate", "--period", "2025-10", "--department", "民政局"], s.data)
    title = registry.reports["minzheng_dibao_monthly"].title
    (path,) = (s.reports / "2025-10" / "民政局").glob(f"{title}_*.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        (row,) = [r for r in csv.DictReader(fh) if r["公民身份号码"] == p["citizen_id"]]
    assert row["联系电话"] == "13812345678"
    assert row["就业状况"] == "无业人员"

    page.reload()  # the form now shows the new value and where it came from
    expect(page.locator("#f-phone")).to_have_value("13812345678")
    expect(page.locator(".field[data-field=phone] .origin")).to_contain_text("来自 社区（一张表）")


def test_worker_of_another_community_cannot_open_the_resident(
    browser: Browser, served: tuple[Settings, str], registry: Registry
):
    s, base = served
    p = person_where(s, "assistance_type = '01'")
    other = other_community(registry, p["community_code"])
    hub_cli(["user", "add", "li", "--community", other, "--password", PASSWORD], s.data)
    page = log_in(browser, base, "li")
    page.get_by_label("姓名或身份证号码").fill(p["citizen_id"])
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_role("link", name=p["name"])).to_have_count(0)
    resp = page.goto(f"{base}/residents/{p['person_id']}")
    assert resp is not None and resp.status == 404
    expect(page.locator("body")).to_contain_text("不属于本社区")
    expect(page.locator("#f-citizen_id")).to_have_count(0)
