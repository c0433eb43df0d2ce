"""The one form: staff edit through the web app or an Excel template, the pipeline takes the
submissions in, and every report that uses a field shows the new value."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hub.form.submissions import read_all
from hub.registry import Registry
from hub.settings import Settings
from hub.web.app import create_app
from tests.conftest import REPO, SCHEMAS, Run, hub_cli

PASSWORD = "s3cret-pass"


def copy_run(run: Run, dest: Path) -> Settings:
    """A private copy of the sample district (warehouse, published data, secret)."""
    shutil.copytree(run.data, dest, ignore=shutil.ignore_patterns("reports", "incoming"))
    return Settings(schemas=SCHEMAS, data=dest)


def person_where(s: Settings, condition: str) -> dict[str, Any]:
    """A published resident matching `condition`, with a community and an ID number."""
    import duckdb

    from hub.publish.snapshot import dataset_sql

    with duckdb.connect() as con:
        res = con.execute(
            f"SELECT * FROM ({dataset_sql(s.published, 'person')}) WHERE community_code IS NOT "
            f"NULL AND citizen_id IS NOT NULL AND {condition} ORDER BY person_id LIMIT 1"
        )
        cols = [d[0] for d in res.description]
        return dict(zip(cols, res.fetchall()[0], strict=True))


def login(client: TestClient, user: str) -> str:
    r = client.post("/login", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200 and "查找本社区居民" in r.text
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/residents/new").text).group(1)


def staff_client(s: Settings, user: str, community: str) -> tuple[TestClient, str]:
    """A new staff account of `community`, logged in; returns the client and its CSRF token."""
    hub_cli(["user", "add", user, "--community", community, "--password", PASSWORD], s.data)
    client = TestClient(create_app(s))
    return client, login(client, user)


def form_of(page: str) -> dict[str, str]:
    """The values a browser would post from the resident page."""
    values = dict(re.findall(r'<input id="f-[^"]+" name="([^"]+)" value="([^"]*)"', page))
    for name, body in re.findall(
        r'<select id="f-[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        m = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = m.group(1) if m else ""
    values |= dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return values


def other_community(registry: Registry, code: str) -> str:
    return next(c.code for c in registry.orgs.communities if c.code != code)


@pytest.fixture(scope="module")
def district(sample_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_run(sample_run, tmp_path_factory.mktemp("form") / "data")


def test_staff_see_only_their_community(district: Settings, registry: Registry):
    p = person_where(district, "true")
    other = other_community(registry, p["community_code"])
    hub_cli(["user", "add", "li", "--community", other, "--password", PASSWORD], district.data)
    client = TestClient(create_app(district))
    assert client.get("/", follow_redirects=False).status_code == 303  # not logged in
    r = client.post("/login", data={"username": "li", "password": "wrong-pass"})
    assert r.status_code == 401 and "用户名或密码不正确" in r.text
    login(client, "li")
    assert p["person_id"] not in client.get("/", params={"q": p["name"]}).text
    found = client.get("/", params={"q": p["citizen_id"]})
    assert p["person_id"] not in found.text
    r = client.get(f"/residents/{p['person_id']}")
    assert r.status_code == 404 and "不属于本社区" in r.text
    csrf = login(client, "li")
    r = client.post(f"/residents/{p['person_id']}", data={"csrf": csrf, "phone": "13800000000"})
    assert r.status_code == 404
    assert read_all(district.submissions) == []
    users = json.loads(district.users.read_text(encoding="utf-8"))
    assert PASSWORD not in json.dumps(users) and users["staff"][0]["password_hash"].startswith(
        "$argon2id$"
    )


def test_prefilled_form_shows_where_values_came_from(district: Settings):
    p = person_where(district, "assistance_type = '01'")
    client, _ = staff_client(district, "wang", p["community_code"])
    assert p["person_id"] in client.get("/", params={"q": p["name"]}).text
    page = client.get(f"/residents/{p['person_id']}").text
    assert f'value="{p["citizen_id"]}"' in page
    assert re.search(r"来自 [^<]*局[^<]* \d{4}-\d{2}", page)
    # the 民政 register holds the assistance type: shown, not editable
    assert re.search(r'<select id="f-assistance_type" name="assistance_type" disabled', page)


def test_inline_and_submit_validation_use_the_pipeline_rules(district: Settings):
    p = person_where(district, "true")
    client, csrf = staff_client(district, "zhao", p["community_code"])
    r = client.post("/check", json={"phone": "12345", "name": "某"}, headers={"X-CSRF-Token": csrf})
    issues = {i["field"]: i["message"] for i in r.json()["issues"]}
    assert "电话号码格式不正确" in issues["phone"]
    assert client.post("/check", json={}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    before = len(read_all(district.submissions))
    r = client.post("/residents/new", data={"csrf": csrf, "name": "", "phone": "13912345678"})
    assert r.status_code == 422 and "姓名为空（必填项）" in r.text
    assert len(read_all(district.submissions)) == before  # nothing saved
    r = client.post("/residents/new", data={"csrf": "forged", "name": "新居民"})
    assert r.status_code == 403


def test_changes_reach_every_report_using_the_field(district: Settings, registry: Registry):
    p = person_where(district, "assistance_type = '01' AND employment_status IS DISTINCT FROM '80'")
    client, _ = staff_client(district, "chen", p["community_code"])
    page = client.get(f"/residents/{p['person_id']}").text
    values = form_of(page) | {"phone": "13700001111", "employment_status": "80"}
    r = client.post(f"/residents/{p['person_id']}", data=values, follow_redirects=False)
    assert r.status_code == 303 and "saved=" in r.headers["location"]
    (sub,) = [s for s in read_all(district.submissions) if s.person_id == p["person_id"]]
    # only who it is about and what changed travels, and only the change is asserted
    assert sorted(sub.changed or []) == ["employment_status", "phone"]
    assert set(sub.values) == {
        "citizen_id",
        "id_unverified",
        "name",
        "gender",
        "birth_date",
        "community_code",
        "phone",
        "employment_status",
    }

    # a new resident from the same form
    new = {
        "csrf": values["csrf"],
        "name": "林新来",
        "citizen_id": "330102199001011242",
        "gender": "2",
        "birth_date": "1990-01-01",
        "phone": "13600002222",
    }
    assert client.post("/residents/new", data=new, follow_redirects=False).status_code == 303

    run = json.loads(hub_cli(["run", "--json"], district.data).stdout)
    form_loads = [x for x in run["loads"] if x["source"] == "community_form"]
    assert form_loads and form_loads[0]["rows"] == 2
    hub_cli(["report", "generate", "--period", "2025-10"], district.data)
    uses_phone = [r for r in registry.reports.values() if "phone" in r.fields]
    seen = 0
    for report in uses_phone:
        rows = report_rows(district, report.department, report.title)
        mine = [r for r in rows if r.get(_header(report, "citizen_id")) == p["citizen_id"]]
        for row in mine:
            assert row[_header(report, "phone")] == "13700001111", report.title
            if "employment_status" in report.fields:
                assert row[_header(report, "employment_status")] == "退（离）休人员", report.title
            seen += 1
    assert seen >= 1
    dibao = report_rows(district, "民政局", registry.reports["minzheng_dibao_monthly"].title)
    assert any(r["联系电话"] == "13700001111" and r["就业状况"] == "退（离）休人员" for r in dibao)
    grid = registry.reports["wangge_changzhu"]
    assert any(
        r[_header(grid, "name")] == "林新来"
        for r in report_rows(district, grid.department, grid.title)
    )
    # the page now says where the phone came from
    page = client.get(f"/residents/{p['person_id']}").text
    assert re.search(
        r'name="phone" value="13700001111"[^<]*>\s*<small class="origin">来自 社区（一张表）', page
    )


def _header(report: Any, field: str) -> str:
    return next(c.header for c in report.columns if c.field == field)


def report_rows(s: Settings, department: str, title: str) -> list[dict[str, str]]:
    (path,) = (s.reports / "2025-10" / department).glob(f"{title}_*.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _sql(s: Settings, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    import duckdb

    with duckdb.connect(str(s.warehouse), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(s: Settings) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`hub serve` as a real process on a free port; yields its base URL and the process."""
    port = free_port()
    env = {**os.environ, "HUB_DATA": str(s.data), "HUB_SCHEMAS": str(s.schemas)}
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, server
    finally:
        server.kill()
        server.wait()


def test_submission_survives_killing_the_server(sample_run: Run, tmp_path: Path):
    s = copy_run(sample_run, tmp_path / "data")
    p = person_where(s, "true")
    hub_cli(
        ["user", "add", "sun", "--community", p["community_code"], "--password", PASSWORD], s.data
    )
    with serve(s) as (base, server), httpx.Client(base_url=base) as http:
        http.post("/login", data={"username": "sun", "password": PASSWORD})
        page = http.get(f"/residents/{p['person_id']}").text
        values = form_of(page) | {"phone": "13911118888"}
        r = http.post(f"/residents/{p['person_id']}", data=values)
        assert r.status_code == 303
        server.send_signal(signal.SIGKILL)  # no shutdown, no flush: gone right after answering
    (sub,) = read_all(s.submissions)
    assert sub.values["phone"] == "13911118888" and sub.by == "sun"
    hub_cli(["run"], s.data)
    got = _sql(s, "SELECT phone FROM core.person WHERE person_id = ?", [p["person_id"]])
    assert got == [("13911118888",)]
    # a second run loads nothing twice
    run = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    assert not [x for x in run["loads"] if x["source"] == "community_form"]


def test_emptied_fields_are_not_lost_silently_and_own_entries_stay_editable(
    sample_run: Run, tmp_path: Path
):
    s = copy_run(sample_run, tmp_path / "data")
    p = person_where(s, "phone IS NOT NULL AND employer IS NOT NULL AND assistance_type IS NULL")
    client, _ = staff_client(s, "qing", p["community_code"])
    page = client.get(f"/residents/{p['person_id']}").text
    r = client.post(
        f"/residents/{p['person_id']}", data=form_of(page) | {"phone": "", "employer": ""}
    )
    assert "没有修改" in r.text and "清空不会删除已登记的信息" in r.text and "联系电话" in r.text
    assert read_all(s.submissions) == []
    # a value staff entered into an empty authority-held field stays theirs to correct
    values = form_of(page) | {"assistance_type": "01"}
    assert (
        client.post(f"/residents/{p['person_id']}", data=values, follow_redirects=False).status_code
        == 303
    )
    page = client.get(f"/residents/{p['person_id']}").text
    assert not re.search(r'<select id="f-assistance_type" name="assistance_type" disabled', page)
    hub_cli(["run"], s.data)
    page = client.get(f"/residents/{p['person_id']}").text
    assert not re.search(r'<select id="f-assistance_type" name="assistance_type" disabled', page)
    assert (
        "以民政局登记为准" not in page.split('data-field="assistance_type"')[1].split("</div>")[0]
    )


def test_web_errors_are_chinese(district: Settings):
    p = person_where(district, "true")
    client, csrf = staff_client(district, "wu", p["community_code"])
    r = client.post("/check", content=b"[1, 2]", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and "JSON 对象" in r.json()["detail"]
    r = client.post("/check", content=b"not json", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400
    assert "没有这个页面" in client.get("/no/such/page").text
    assert client.get("/api/v1/nothing").json()["detail"] == "没有这个页面或接口"
    r = client.post("/login", data={"username": "wu"})
    assert r.status_code == 422 and "password" in r.text and "必须提供" in r.text
    assert "Field required" not in r.text
