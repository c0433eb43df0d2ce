"""Departments read shared data under their grants: exactly the granted columns and rows,
sensitive fields masked, everything else refused with a reason; every read is logged, the
log cannot be changed from the query path, and the HTTP API keeps the same rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hub.registry import Registry, load_registry
from hub.settings import Settings
from hub.web.api import openapi_spec
from hub.web.app import create_app
from tests.conftest import SCHEMAS, Run, copy_schemas, hub_cli
from tests.test_form import copy_run, serve
from tests.test_reports import in_population, published_people

ID_MASK = re.compile(r"^\d{4}\*{10}[\dX]{4}$")
FULL_MASK = re.compile(r"^\*+$")
PHONE_MASK = re.compile(r"^\d{3}\*+\d{4}$")


@pytest.fixture(scope="module")
def district(sample_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return copy_run(sample_run, tmp_path_factory.mktemp("shares") / "data")


def query(
    s: Settings,
    dept: str,
    sql: str,
    purpose: str = "测试核查",
    check: bool = True,
    schemas: Path = SCHEMAS,
):
    args = ["query", "--token", dept_token(s, dept), "--format", "json", sql]
    args += ["--purpose", purpose] if purpose else []
    return hub_cli(args, s.data, schemas, check=check)


_TOKENS: dict[tuple[str, str], str] = {}


def dept_token(s: Settings, dept: str) -> str:
    """A department token of this district (data queries run under one, as the API's do)."""
    key = (str(s.data), dept)
    if key not in _TOKENS:
        out = hub_cli(["token", "create", "--department", dept, "--name", "测试"], s.data)
        _TOKENS[key] = out.stdout.strip()
    return _TOKENS[key]


def expected_scope(registry: Registry, name: str, people: list[dict[str, Any]]) -> set[str]:
    share = registry.shares[name]
    report_like = type("R", (), {"population": share.rows.population})
    keep = set()
    for p in people:
        if not in_population(report_like, p, date.today()):  # type: ignore[arg-type]
            continue
        j = share.rows.jurisdiction
        if j and not any((p["community_code"] or "").startswith(c) for c in j):
            continue
        keep.add(p["person_id"])
    return keep


ACTIVE = [n for n, s in load_registry(SCHEMAS).shares.items() if s.share_type != "不予共享"]


@pytest.mark.parametrize("name", ACTIVE)
def test_department_sees_exactly_its_grant(name: str, district: Settings, registry: Registry):
    share = registry.shares[name]
    rows = json.loads(query(district, share.department, f"SELECT * FROM {name}").stdout)
    people = {p["person_id"]: p for p in published_people(district.data)}
    assert rows, f"{name}: the sample district should have people in this grant"
    assert list(rows[0]) == ["person_id", *share.fields]
    assert {r["person_id"] for r in rows} == expected_scope(registry, name, list(people.values()))
    for r in rows:
        p = people[r["person_id"]]
        for f in share.fields:
            field = registry.fields[f]
            if p[f] is None:
                assert r[f] is None
            elif field.sensitivity == "sensitive" and f not in share.unmasked:
                assert str(r[f]) != str(p[f]), f"{f} should be masked"
                if field.normalize == "cn_id":  # beside a birth date: not one digit shown
                    assert (ID_MASK if "birth_date" not in share.fields else FULL_MASK).match(r[f])
                if field.normalize == "phone" and len(str(p[f])) == 11:
                    assert PHONE_MASK.match(r[f]) and r[f][-4:] == p[f][-4:]
            else:
                assert str(r[f]) == str(p[f]) or r[f] == p[f]


REFUSED = [
    ("SELECT name FROM wangge_population", "未授权给本部门"),
    ("SELECT ethnicity FROM minzheng_dibao_check", "字段 ethnicity（民族）不在本部门的授权范围内"),
    ("DELETE FROM minzheng_dibao_check", "不允许修改数据"),
    ("UPDATE minzheng_dibao_check SET name = 'x'", "不允许修改数据"),
    ("INSERT INTO minzheng_dibao_check VALUES (1)", "不允许修改数据"),
    ("CREATE TABLE t AS SELECT 1", "DDL"),
    ("DROP TABLE minzheng_dibao_check", "DDL"),
    ("ATTACH 'other.duckdb' AS o", "ATTACH"),
    ("COPY minzheng_dibao_check TO 'out.csv'", "COPY"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_parquet('data/published/person/*/data.parquet')", "read_parquet"),
    ("SELECT * FROM '/etc/passwd'", "不允许直接读取文件"),
    ("PRAGMA database_list", "PRAGMA"),
    ("SET enable_external_access = true", "SET"),
    ("INSTALL httpfs", "扩展"),
    ("LOAD httpfs", "扩展"),
    ("SELECT 1; SELECT 2", "一条"),
    ("SELECT * FROM main.minzheng_dibao_check", "不允许指定库或模式"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT * FROM duckdb_tables()", "duckdb_tables"),
]


@pytest.mark.parametrize(("sql", "message"), REFUSED)
def test_refused_with_a_reason(sql: str, message: str, district: Settings):
    proc = query(district, "民政局", sql, check=False)
    assert proc.returncode != 0
    assert "查询被拒绝" in proc.stderr and message in proc.stderr


def test_purpose_refused_expired_and_unshared(district: Settings, tmp_path: Path):
    proc = query(
        district, "民政局", "SELECT name FROM minzheng_dibao_check", purpose="", check=False
    )
    assert proc.returncode != 0 and "须说明查询用途" in proc.stderr
    proc = query(district, "人力资源和社会保障局", "SELECT * FROM renshe_bank_refused", check=False)
    assert "不予共享" in proc.stderr
    proc = hub_cli(
        ["token", "create", "--department", "教育局", "--name", "t"], district.data, check=False
    )  # a department with no grant gets no token to query with
    assert proc.returncode == 2 and "没有任何共享授权" in proc.stderr
    schemas = tmp_path / "schemas"
    copy_schemas(schemas)
    path = schemas / "shares" / "canlian_disabled.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["expires"] = "2020-01-01"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    proc = query(
        district, "残疾人联合会", "SELECT name FROM canlian_disabled", check=False, schemas=schemas
    )
    assert proc.returncode != 0 and "已于 2020-01-01 到期" in proc.stderr


def test_audit_shows_who_read_a_resident(district: Settings, registry: Registry):
    people = published_people(district.data)
    target = next(p for p in people if p["assistance_type"] == "01" and p["citizen_id"])
    bystander = next(
        p
        for p in people
        if p["assistance_type"] is None
        and p["disability_cert_no"] is None
        and p["citizen_id"]
        and p["person_id"] not in expected_scope(registry, "weijian_elderly_health", people)
    )
    sql = f"SELECT name, phone FROM minzheng_dibao_check WHERE person_id = '{target['person_id']}'"
    query(district, "民政局", sql, purpose="低保年度复核入户")
    query(district, "民政局", "SELECT count(*) AS n FROM minzheng_dibao_check", purpose="月度统计")
    doc = json.loads(
        hub_cli(["audit", "--resident", target["citizen_id"], "--json"], district.data).stdout
    )
    purposes = [a["purpose"] for a in doc["accesses"]]
    assert "低保年度复核入户" in purposes and "月度统计" in purposes
    hit = next(a for a in doc["accesses"] if a["purpose"] == "低保年度复核入户")
    assert (
        hit["department"] == "民政局"
        and hit["fields"] == ["name", "phone"]
        and hit["channel"] == "cli"
    )
    other = json.loads(
        hub_cli(["audit", "--resident", bystander["citizen_id"], "--json"], district.data).stdout
    )
    assert not [a for a in other["accesses"] if a["purpose"] == "低保年度复核入户"]
    summary = json.loads(
        hub_cli(["audit", "--department", "民政局", "--json"], district.data).stdout
    )
    assert summary["reads"] >= 2 and summary["refused"] >= 1
    burden = json.loads(hub_cli(["burden", "--json"], district.data).stdout)
    assert burden["requests_answered"]["by_department"]["民政局"] == summary["reads"]


def test_query_path_cannot_touch_the_audit_log(district: Settings):
    query(district, "民政局", "SELECT name FROM minzheng_dibao_check LIMIT 1")
    log = district.audit / "access.jsonl"
    before = log.read_bytes()
    attacks = [
        f"COPY (SELECT 1) TO '{log}'",
        f"SELECT * FROM read_text('{log}')",
        f"ATTACH '{log}' AS a",
        f"SELECT * FROM '{log}'",
        "DELETE FROM audit.access",
        "SELECT * FROM minzheng_dibao_check; DELETE FROM minzheng_dibao_check",
    ]
    for sql in attacks:
        assert query(district, "民政局", sql, check=False).returncode != 0
    after = log.read_bytes()
    assert after.startswith(before) and len(after) > len(before)  # only appended (the refusals)
    assert json.loads(hub_cli(["audit", "--verify", "--json"], district.data).stdout)["intact"]
    # an edit outside the hub is detected
    lines = after.decode("utf-8").splitlines()
    first = json.loads(lines[0])
    first["purpose"] = "改过的用途"
    tampered = [json.dumps(first, ensure_ascii=False), *lines[1:]]
    log.write_text("\n".join(tampered) + "\n", encoding="utf-8")
    proc = hub_cli(["audit", "--verify"], district.data, check=False)
    assert proc.returncode == 1 and "第 1 条的内容被修改过" in proc.stderr
    log.write_bytes(after)


@pytest.fixture(scope="module")
def api(district: Settings) -> tuple[TestClient, str, str]:
    out = hub_cli(
        ["token", "create", "--department", "民政局", "--name", "低保系统"], district.data
    )
    token = out.stdout.strip()
    revoked = hub_cli(
        ["token", "create", "--department", "民政局", "--name", "旧系统"], district.data
    ).stdout.strip()
    hub_cli(["token", "revoke", revoked.split("_")[1]], district.data)
    return TestClient(create_app(district)), token, revoked


def test_api_tokens_and_purpose(api: tuple[TestClient, str, str], district: Settings):
    client, token, revoked = api
    ok = {"Authorization": f"Bearer {token}", "X-Purpose": quote("低保入户核查")}
    assert client.get("/api/v1/datasets").status_code == 401
    r = client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {revoked}"})
    assert r.status_code == 401 and "吊销" in r.json()["detail"]
    r = client.get(
        "/api/v1/datasets/minzheng_dibao_check", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 400 and "X-Purpose" in r.json()["detail"]
    names = [d["name"] for d in client.get("/api/v1/datasets", headers=ok).json()]
    assert names == ["minzheng_dibao_check"]
    r = client.get(
        "/api/v1/datasets/minzheng_dibao_check",
        headers=ok,
        params={"fields": "name,citizen_id,phone", "limit": 5},
    )
    body = r.json()
    assert (
        r.status_code == 200
        and body["rows"] == 5
        and list(body["data"][0]) == ["name", "citizen_id", "phone"]
    )
    assert all(FULL_MASK.match(x["citizen_id"]) for x in body["data"] if x["citizen_id"])
    assert client.get("/api/v1/datasets/wangge_population", headers=ok).status_code == 404
    r = client.get(
        "/api/v1/datasets/minzheng_dibao_check", headers=ok, params={"fields": "bank_name"}
    )
    assert r.status_code == 403
    csv_text = client.get(
        "/api/v1/datasets/minzheng_dibao_check", headers=ok, params={"format": "csv", "limit": 3}
    ).text
    assert csv_text.splitlines()[0].startswith('"person_id"') and len(csv_text.splitlines()) == 4
    pq_bytes = client.get(
        "/api/v1/datasets/minzheng_dibao_check", headers=ok, params={"format": "parquet"}
    ).content
    assert pq_bytes[:4] == b"PAR1"
    people = published_people(district.data)
    p = next(x for x in people if x["assistance_type"] == "01" and x["citizen_id"])
    r = client.get(f"/api/v1/persons/{p['citizen_id']}", headers=ok)
    rec = r.json()["datasets"]["minzheng_dibao_check"]
    assert r.status_code == 200 and rec["name"] == p["name"] and "ethnicity" not in rec
    outside = next(x for x in people if x["assistance_type"] is None and x["citizen_id"])
    assert client.get(f"/api/v1/persons/{outside['citizen_id']}", headers=ok).status_code == 404
    doc = json.loads(
        hub_cli(["audit", "--resident", p["citizen_id"], "--json"], district.data).stdout
    )
    assert any(a["channel"] == "api" and a["purpose"] == "低保入户核查" for a in doc["accesses"])


def test_analyst_sees_row_scope_labels_and_masking(
    api: tuple[TestClient, str, str], district: Settings, registry: Registry
):
    client, token, _ = api
    ok = {"Authorization": f"Bearer {token}", "X-Purpose": quote("口径核对")}
    (ds,) = client.get("/api/v1/datasets", headers=ok).json()
    assert ds["rows"]["population"] == ["救助类型为城市低保、农村低保、特困供养"]
    assert "救助类型为城市低保" in ds["rows"]["text"]
    fields = {f["name"]: f for f in ds["fields"]}
    assert fields["gender"]["label"] == "性别" and not fields["gender"]["masked"]
    assert {"code": "1", "label": "男"} in fields["gender"]["codelist"]["codes"]
    assert fields["gender"]["label_column"] == "gender_label"
    assert fields["citizen_id"]["masked"] and "整体隐藏" in fields["citizen_id"]["mask"]
    assert fields["monthly_income"]["masked"] and fields["monthly_income"]["codelist"] is None
    # labels come beside the codes
    r = client.get(
        "/api/v1/datasets/minzheng_dibao_check",
        headers=ok,
        params={"fields": "gender,assistance_type,community_code", "limit": 3},
    )
    row = r.json()["data"][0]
    assert list(row) == [
        "gender",
        "gender_label",
        "assistance_type",
        "assistance_type_label",
        "community_code",
        "community_code_label",
    ]
    assert row["gender_label"] == {"1": "男", "2": "女"}.get(row["gender"], row["gender_label"])
    assert row["assistance_type_label"] in ("城市低保", "农村低保", "特困供养")
    # the CLI describes the same grant, and lists the department's grants
    doc = json.loads(
        hub_cli(
            ["query", "--as", "民政局", "--describe", "minzheng_dibao_check", "--format", "json"],
            district.data,
        ).stdout
    )
    assert doc["rows"] == ds["rows"] and [f["name"] for f in doc["fields"]] == list(fields)
    listing = hub_cli(["query", "--as", "民政局"], district.data).stdout
    assert "minzheng_dibao_check" in listing and "行范围" in listing
    rows = json.loads(
        query(district, "民政局", "SELECT gender FROM minzheng_dibao_check LIMIT 2").stdout
    )
    assert list(rows[0]) == ["gender"]  # labels only when asked on the command line
    proc = hub_cli(
        [
            "query",
            "--token",
            dept_token(district, "民政局"),
            "--purpose",
            "口径",
            "--labels",
            "--format",
            "json",
            "SELECT gender FROM minzheng_dibao_check LIMIT 2",
        ],
        district.data,
    )
    assert list(json.loads(proc.stdout)[0]) == ["gender", "gender_label"]


def test_engine_errors_and_raw_purposes_are_explained(
    api: tuple[TestClient, str, str], district: Settings
):
    proc = query(district, "民政局", "SELECT nmae FROM minzheng_dibao_check", check=False)
    assert proc.returncode == 2
    assert "查询出错：字段 nmae 不存在" in proc.stderr and "name" in proc.stderr
    assert "Binder" not in proc.stderr and "被拒绝" not in proc.stderr
    client, token, _ = api
    raw = "低保入户核查".encode()  # raw UTF-8 bytes on the wire, not percent-encoded
    r = client.get(
        "/api/v1/datasets/minzheng_dibao_check",
        headers={"Authorization": f"Bearer {token}", "X-Purpose": raw},
    )
    assert r.status_code == 400 and "百分号编码" in r.json()["detail"]
    entries = [
        json.loads(x) for x in (district.audit / "access.jsonl").read_text("utf-8").splitlines()
    ]
    assert not [e for e in entries if "ä" in e["purpose"] or "å" in e["purpose"]]  # no mojibake
    bad = client.get(
        "/api/v1/datasets/minzheng_dibao_check",
        headers={"Authorization": f"Bearer {token}", "X-Purpose": "%E4%BD"},
    )
    assert bad.status_code == 400 and "UTF-8" in bad.json()["detail"]
    ok = {"Authorization": f"Bearer {token}", "X-Purpose": quote("核查")}
    for params, expected in (({"limit": "abc"}, "应为整数"), ({"format": "xml"}, "可选")):
        r = client.get("/api/v1/datasets/minzheng_dibao_check", headers=ok, params=params)
        assert r.status_code == 422 and expected in r.json()["detail"], r.text
        assert "Input should" not in r.text
    for sql, expected in (
        ("SELEC name FROM minzheng_dibao_check", "SQL 语法错误"),
        ("SELECT t.nme FROM minzheng_dibao_check t", "字段 nme 不存在"),
        ("SELECT CAST(name AS DATE) FROM minzheng_dibao_check", "类型转换失败"),
    ):
        proc = query(district, "民政局", sql, check=False)
        assert "查询出错：" in proc.stderr and expected in proc.stderr, proc.stderr
        assert not re.search(r"[A-Z][a-z]+(Error|Exception)", proc.stderr)


schema = schemathesis.openapi.from_dict(openapi_spec())


@pytest.fixture(scope="module")
def live_api(district: Settings, api: tuple[TestClient, str, str]) -> Iterator[str]:
    with serve(district) as (base, _):
        yield base


def test_served_description_is_the_fuzzed_one(api: tuple[TestClient, str, str]):
    served = api[0].get("/openapi.json").json()
    assert served["paths"] == openapi_spec()["paths"]
    assert all(p.startswith("/api/v1/") for p in served["paths"])  # staff pages stay out


@pytest.mark.serial  # schemathesis makes its cases while collecting: not under pytest-xdist
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_fuzz_no_server_error(case: Any, live_api: str, api: tuple[TestClient, str, str]):
    _, token, _ = api
    case.call_and_validate(
        base_url=live_api,
        headers={"Authorization": f"Bearer {token}", "X-Purpose": quote("接口测试")},
        checks=[not_a_server_error],
    )
