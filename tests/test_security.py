"""The trust issue's attacks, replayed: each case is written as the attacker would try it."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import stat
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from hub.form.submissions import Submission, append, submission_table
from hub.publish.snapshot import dataset_files
from hub.settings import Settings
from hub.web.app import create_app
from tests.conftest import Run, hub_cli
from tests.test_form import copy_run, person_where
from tests.test_shares import dept_token

FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "@SUM(1+1)", "+cmd|' /C calc'!A0"]


def test_csv_outputs_defuse_formula_prefixes(sample_run: Run, tmp_path: Path):
    """16. Reports, the API's CSV and `hub query --format csv` never hand a formula to Excel."""
    s = copy_run(sample_run, tmp_path / "data")
    p = person_where(s, "assistance_type = '01'")
    values = {"current_address": FORMULAS[0], "employer": FORMULAS[1], "phone": "13900001111"}
    sub = Submission(
        "mallory",
        p["community_code"],
        values | {"citizen_id": p["citizen_id"], "name": p["name"]},
        p["person_id"],
        changed=list(values),
    )
    append(s.submissions, sub)
    hub_cli(["run"], s.data)
    hub_cli(["report", "generate", "--period", "2025-10", "--department", "民政局"], s.data)
    texts = [
        f.read_text(encoding="utf-8-sig") for f in (s.reports / "2025-10" / "民政局").glob("*.csv")
    ]
    cells = [c for t in texts for row in csv.reader(io.StringIO(t)) for c in row]
    assert "'" + FORMULAS[0] in cells
    assert not [
        c
        for c in cells
        if c.startswith(("=", "@", "+"))
        or (c.startswith("-") and not c[1:].replace(".", "").isdigit())
    ]
    out = hub_cli(
        [
            "query",
            "--token",
            dept_token(s, "民政局"),
            "--purpose",
            "测试",
            "--format",
            "csv",
            "SELECT current_address, name FROM minzheng_dibao_check",
        ],
        s.data,
    ).stdout
    assert "'" + FORMULAS[0] in {c for row in csv.reader(io.StringIO(out)) for c in row}
    token = hub_cli(
        ["token", "create", "--department", "民政局", "--name", "t"], s.data
    ).stdout.strip()
    client = TestClient(create_app(s))
    r = client.get(
        "/api/v1/datasets/minzheng_dibao_check",
        params={"format": "csv", "fields": "current_address", "limit": 10000},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": quote("测试")},
    )
    api_cells = {c for row in csv.reader(io.StringIO(r.text)) for c in row}
    assert "'" + FORMULAS[0] in api_cells and FORMULAS[0] not in api_cells


def test_files_the_hub_writes_are_private(sample_run: Run):
    """17. The warehouse, published Parquet (full IDs), reports and archive are not world-readable."""
    hub_cli(["report", "generate", "--period", "2025-10"], sample_run.data)
    checked = 0
    for path in sample_run.data.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
        checked += 1
    assert checked > 50
    assert (sample_run.data / "warehouse.duckdb").exists()


def test_umask_can_be_configured(tmp_path: Path):
    import os

    from hub.settings import private_files

    before = os.umask(0o022)
    try:
        assert private_files({"HUB_UMASK": "027"}) == 0o027
        assert private_files({}) == 0o077
    finally:
        os.umask(before)
    assert json.dumps(Settings(schemas=tmp_path, data=tmp_path).tokens.name)


def _district_with(sample_run: Run, tmp_path: Path, files: dict[str, bytes]) -> Settings:
    s = copy_run(sample_run, tmp_path / "data")
    s.incoming.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (s.incoming / name).write_bytes(body)
    return s


def _wide_xlsx(path: Path, columns: int) -> bytes:
    import xlsxwriter

    with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as wb:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, [f"列{i}" for i in range(columns)])
        ws.write_row(1, 0, ["1"] * columns)
    return path.read_bytes()


def _bomb_xlsx(path: Path) -> bytes:
    """Small on disk, hundreds of MB once its sheet is unpacked."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as wb:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["姓名", "身份证号"])
        for r in range(1, 300_000):
            ws.write_row(r, 0, ["a" * 25] * 20)
    return path.read_bytes()


def test_bad_files_fail_alone_and_are_set_aside(sample_run: Run, tmp_path: Path):
    """3, 4 and 'Other': a header-only CSV, a 5,014-column CSV, a 16k-column XLSX, an XLSX that
    unpacks to hundreds of MB, an empty file, NUL bytes, a 10 MB cell, a truncated XLSX —
    each gets a Chinese reason, is set aside (not retried), and the good file beside them loads."""
    good = next((Path(__file__).parent.parent / "data" / "sample").glob("退役军人_*.csv"))
    wide = ",".join(f"c{i}" for i in range(5014)).encode() + b"\n" + b",".join([b"1"] * 5014)
    whole = _wide_xlsx(tmp_path / "w.xlsx", 16_000)
    files = {
        "公安_户籍人口花名册_202512.csv": "户号,姓名,性别,公民身份号码\n".encode("gb18030"),
        "卫健_65岁以上老年人健康管理_202512.csv": wide,
        "民政_城市低保花名册_202512.xlsx": whole,
        "残联_持证残疾人花名册_202512.xlsx": _bomb_xlsx(tmp_path / "b.xlsx"),
        "人社_城乡居民养老保险参保_202512.xlsx": whole[: len(whole) // 2],
        "退役军人_信息采集表_202511.csv": b"",
        "退役军人_信息采集表_202512.csv": "序号,姓名\n1,张\x00三\n".encode(),
        "退役军人_信息采集表_202510.csv": ("序号,姓名\n1," + "长" * 5_000_000 + "\n").encode(),
        "退役军人_信息采集表_202601.csv": good.read_bytes(),
    }
    s = _district_with(sample_run, tmp_path, files)
    proc = hub_cli(["run", "--json"], s.data, check=False, timeout=300)
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    loads = {x["file"]: x for x in doc["loads"]}
    assert loads["退役军人_信息采集表_202601.csv"]["status"] == "loaded"
    header_only = loads["公安_户籍人口花名册_202512.csv"]  # a full roster with no rows: held
    assert header_only["status"] == "held" and header_only["rows"] == 0
    assert "只有表头" in " ".join(header_only["notes"]) and "不足上一批" in header_only["message"]
    reasons = {
        "卫健_65岁以上老年人健康管理_202512.csv": "5014 列",
        "民政_城市低保花名册_202512.xlsx": "16000 列",
        "残联_持证残疾人花名册_202512.xlsx": "解压后",
        "人社_城乡居民养老保险参保_202512.xlsx": "已损坏",
        "退役军人_信息采集表_202511.csv": "空的",
        "退役军人_信息采集表_202512.csv": "空字符",
        "退役军人_信息采集表_202510.csv": "超过单元格上限",
    }
    for name, words in reasons.items():
        assert loads[name]["status"] == "rejected" and words in loads[name]["message"], loads[name]
        assert not re.search(r"[A-Za-z]{6,}", loads[name]["message"].split("（文件已移到")[0])
        assert not (s.incoming / name).exists()
    kept = {
        p.name.split("_", 1)[1]
        for p in (s.incoming / "rejected").glob("*")
        if not p.name.endswith(".txt")
    }
    assert kept == set(reasons)
    assert doc["published"] is not None  # the district still publishes
    again = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    assert not [x for x in again["loads"] if x["status"] == "rejected"]  # not retried


def test_a_second_run_is_told_one_is_running(sample_run: Run, tmp_path: Path):
    """5. Two `hub run` at once: the second says so in Chinese, the first finishes."""
    import os
    import subprocess
    import sys
    import time

    s = copy_run(sample_run, tmp_path / "data")
    hub_cli(["sample", "--residents", "4000", "--seed", "5"], s.data)
    env = {**os.environ, "HUB_DATA": str(s.data), "HUB_SCHEMAS": str(s.schemas)}
    first = subprocess.Popen(
        [sys.executable, "-m", "hub", "run", "--no-gx"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = s.data / ".run.lock"
        for _ in range(200):  # bounded: at most 20 s for the first run to take the lock
            text = lock.read_text(encoding="utf-8") if lock.exists() else ""
            with contextlib.suppress(ValueError):  # caught while being written
                if json.loads(text or "{}").get("pid") == first.pid:
                    break
            time.sleep(0.1)
        second = hub_cli(["run", "--no-gx"], s.data, check=False)
        assert second.returncode == 3 and "已有一次归集在运行" in second.stderr
        assert "Traceback" not in second.stderr and "IOException" not in second.stderr
    finally:
        assert first.wait(timeout=300) == 0


def test_district_stays_publishable_after_hostile_input_and_a_crash(
    sample_run: Run, tmp_path: Path
):
    """1 and the Done-when: a hostile submission, a hostile (cut-short) roster and a killed run;
    the rest publishes, the bad batch waits with its reason, then is released or rejected."""
    import os
    import signal
    import subprocess
    import sys
    import time

    s = copy_run(sample_run, tmp_path / "data")
    p = person_where(s, "true")
    for name in ("<script>alert(1)</script>", "John Smith"):
        values = {
            "name": name,
            "citizen_id": "",
            "id_unverified": "1",
            "gender": "1",
            "birth_date": "1980-01-01",
            "community_code": p["community_code"],
        }
        append(
            s.submissions,
            Submission("mallory", p["community_code"], values, None, changed=list(values)),
        )
    roster = next((Path(__file__).parent.parent / "data" / "sample").glob("公安_*.csv"))
    lines = roster.read_bytes().decode("gb18030").splitlines()
    short = "\n".join(lines[: len(lines) // 10]) + "\n"  # an export cut short: a tenth of it
    s.incoming.mkdir(parents=True, exist_ok=True)
    (s.incoming / "公安_户籍人口花名册_202511.csv").write_bytes(short.encode("gb18030"))
    before = json.loads((s.published / "CURRENT.json").read_text(encoding="utf-8"))["release"]

    doc = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    assert doc["blocked"] == [] and doc["published"]["release"] > before
    (held,) = doc["held"]
    assert held["source"] == "gongan_household" and "不足上一批" in held["reason"]
    status = json.loads(hub_cli(["status", "--json"], s.data).stdout)
    assert [b["batch_id"] for b in status["held"]] == [held["batch_id"]]
    with duckdb_ro(s) as con:
        names = {r[0] for r in con.execute("SELECT name FROM core.person").fetchall()}
        quarantined = con.execute(
            "SELECT count(*) FROM quarantine.issues WHERE source = 'community_form' "
            "AND rule = 'pattern_mismatch' AND severity = 'error'"
        ).fetchall()[0][0]
        staged_batches = {
            r[0]
            for r in con.execute(
                "SELECT DISTINCT _batch_id FROM staged.gongan_household"
            ).fetchall()
        }
    assert "John Smith" in names and not [n for n in names if n and "<" in n]
    assert quarantined == 1
    assert held["batch_id"] not in staged_batches  # the district uses the last good roster

    # the data team decides; the next run takes the decision in
    listed = json.loads(hub_cli(["batch", "list", "--held", "--json"], s.data).stdout)
    assert [b["batch_id"] for b in listed] == [held["batch_id"]]
    out = hub_cli(
        ["batch", "reject", held["batch_id"], "--reason", "导出不完整，已让公安重发", "--json"],
        s.data,
    )
    assert json.loads(out.stdout)["status"] == "rejected"
    again = hub_cli(["batch", "release", held["batch_id"]], s.data, check=False)
    assert again.returncode == 2 and "不是暂缓状态" in again.stderr

    # a run killed part-way leaves the published release readable; the next run completes
    env = {**os.environ, "HUB_DATA": str(s.data), "HUB_SCHEMAS": str(s.schemas)}
    hub_cli(["sample", "--residents", "3000", "--seed", "9"], s.data)
    run = subprocess.Popen(
        [sys.executable, "-m", "hub", "run", "--no-gx"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(4)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=60)
    current = json.loads((s.published / "CURRENT.json").read_text(encoding="utf-8"))
    assert dataset_files(s.published, "person", current)
    final = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    assert final["blocked"] == [] and final["published"] is not None
    with duckdb_ro(s) as con:
        kept = con.execute(
            "SELECT count(*) FROM raw._batches WHERE status = 'rejected'"
        ).fetchall()[0][0]
    assert kept == 1


def duckdb_ro(s: Settings):
    import duckdb

    return duckdb.connect(str(s.warehouse), read_only=True)


def _login(client: TestClient, user: str, password: str = "s3cret-pass") -> str:
    import re as _re

    r = client.post("/login", data={"username": user, "password": password})
    assert r.status_code == 200, r.text
    page = client.get("/residents/new").text
    return _re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_community_lines_hold_on_the_server(sample_run: Run, tmp_path: Path, registry):
    """6 and 7: a new resident who lives in another community, and another community's grid,
    are refused by the handler; a 迁入申请 is the way, decided by the other community."""
    from hub.form.submissions import read_all
    from tests.test_form import PASSWORD, other_community

    s = copy_run(sample_run, tmp_path / "data")
    theirs = person_where(s, "true")
    b = theirs["community_code"]
    a = other_community(registry, b)
    for user, community in (("alice", a), ("bob", b)):
        hub_cli(["user", "add", user, "--community", community, "--password", PASSWORD], s.data)
    app = create_app(s)
    alice, bob = TestClient(app), TestClient(app)
    csrf = _login(alice, "alice")
    new = {
        "csrf": csrf,
        "name": theirs["name"],
        "citizen_id": theirs["citizen_id"],
        "gender": theirs["gender"],
        "birth_date": str(theirs["birth_date"]),
        "phone": "13900000000",
        "current_address": "A 社区某路 1 号",
    }
    r = alice.post("/residents/new", data=new)
    assert r.status_code == 422 and "已登记在其他社区" in r.text and "提交迁入申请" in r.text
    assert registry.orgs.communities and not [
        n.name for n in registry.orgs.communities if n.code == b and n.name in r.text
    ]  # not who
    assert read_all(s.submissions) == []
    # another community's grid on their own resident: refused too
    mine = person_where(s, f"community_code = '{a}'")
    page = alice.get(f"/residents/{mine['person_id']}").text
    from tests.test_form import form_of

    other_grid = next(g.code for c in registry.orgs.communities if c.code == b for g in c.grids)
    r = alice.post(
        f"/residents/{mine['person_id']}", data=form_of(page) | {"grid_code": other_grid}
    )
    assert r.status_code == 422 and "所属网格须为本社区的网格" in r.text
    r = alice.post(f"/residents/{mine['person_id']}", data=form_of(page) | {"community_code": b})
    assert "没有修改" in r.text  # the community is fixed: a posted one changes nothing
    assert read_all(s.submissions) == []

    # the Excel path holds the same line: a new row with B's resident is not taken
    import openpyxl

    tpl = tmp_path / "a.xlsx"
    tpl.write_bytes(alice.get("/template.xlsx").content)
    wb = openpyxl.load_workbook(tpl)
    ws = wb["社区一张表"]
    col = {c.value: c.column for c in ws[2] if c.value}
    blank = next(r for r in range(3, ws.max_row + 1) if not ws.cell(r, col["人员编号"]).value)
    for h, v in (("姓名", theirs["name"]), ("公民身份号码", theirs["citizen_id"])):
        ws.cell(blank, col[h]).value = v
    wb.save(tpl)
    doc = json.loads(hub_cli(["form", "import", str(tpl), "--json"], s.data).stdout)
    assert doc["not_taken"] == 1 and doc["added"] == 0
    assert any("已登记在其他社区" in i["message"] for i in doc["issues"])

    # the 迁入申请: filed by A, accepted by B, the resident is A's after the run
    r = alice.post(
        "/requests/move-in",
        data={
            "csrf": csrf,
            "citizen_id": theirs["citizen_id"],
            "name": theirs["name"],
            "reason": "2026年11月迁入",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    bcsrf = _login(bob, "bob")
    listing = bob.get("/requests").text
    import re as _re

    rid = _re.search(r'action="/requests/([0-9a-f]{32})"', listing).group(1)
    assert "2026年11月迁入" in listing
    assert (
        alice.post(f"/requests/{rid}", data={"csrf": csrf, "action": "accept"}).status_code == 404
    )
    r = bob.post(
        f"/requests/{rid}", data={"csrf": bcsrf, "action": "accept"}, follow_redirects=False
    )
    assert r.status_code == 303
    hub_cli(["run"], s.data)
    app2 = create_app(s)
    alice2, bob2 = TestClient(app2), TestClient(app2)
    _login(alice2, "alice")
    _login(bob2, "bob")
    assert alice2.get(f"/residents/{theirs['person_id']}").status_code == 200
    assert bob2.get(f"/residents/{theirs['person_id']}").status_code == 404


def test_staff_reads_are_logged_logout_ends_the_session_and_guessing_is_slowed(
    sample_run: Run, tmp_path: Path
):
    """8: reads logged with the residents touched, logout revokes the cookie, login throttled,
    argon2 with rehash, Secure cookies behind https."""
    from dataclasses import replace as dc_replace

    from hub.share.audit import entries
    from hub.web.accounts import hash_password, load_staff, save_staff
    from tests.test_form import PASSWORD

    s = copy_run(sample_run, tmp_path / "data")
    p = person_where(s, "true")
    hub_cli(
        ["user", "add", "carol", "--community", p["community_code"], "--password", PASSWORD], s.data
    )
    client = TestClient(create_app(s))
    _login(client, "carol")
    client.get("/", params={"q": p["name"]})
    client.get(f"/residents/{p['person_id']}")
    client.get("/template.xlsx")
    mine = [e for e in entries(s.audit) if e["channel"] == "web" and e["user"] == "carol"]
    # the landing page (a search with no text), the search, the resident, the template
    assert len(mine) == 4 and all(p["person_id"] in e["persons"] for e in mine[1:])
    doc = json.loads(hub_cli(["audit", "--resident", p["citizen_id"], "--json"], s.data).stdout)
    assert {a["channel"] for a in doc["accesses"]} >= {"web"}

    cookie = client.cookies.get("hub_session")  # what a thief would copy
    client.post("/logout")
    thief = TestClient(create_app(s))
    thief.cookies.set("hub_session", cookie)
    assert thief.get("/", follow_redirects=False).status_code == 303  # back to the login page

    guesser = TestClient(create_app(s))
    for _ in range(5):
        assert (
            guesser.post(
                "/login", data={"username": "carol", "password": "wrong-guess"}
            ).status_code
            == 401
        )
    r = guesser.post("/login", data={"username": "carol", "password": PASSWORD})
    assert r.status_code == 429 and "登录失败次数过多" in r.text

    # an account from before argon2 logs in and is rehashed
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1)
    old = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    staff = load_staff(s.users)
    staff["carol"] = dc_replace(staff["carol"], password_hash=old)
    save_staff(s.users, staff)
    fresh = TestClient(create_app(s))
    _login(fresh, "carol")
    assert load_staff(s.users)["carol"].password_hash.startswith("$argon2id$")
    assert hash_password("x" * 12).startswith("$argon2id$")

    secure = TestClient(create_app(dc_replace(s, public_url="https://hub.example.gov.cn")))
    r = secure.post(
        "/login", data={"username": "carol", "password": PASSWORD}, follow_redirects=False
    )
    assert "secure" in r.headers["set-cookie"].lower()


# counties under one prefecture, and in the whole country (GB/T 2260), at most
_COUNTIES_PER_CITY, _COUNTIES = 30, 3200
_DAYS = 100 * 365  # birth dates a 100-year span allows


def id_candidates(
    shown: str | None, birth_known: bool, gender_known: bool, tail_from_cert: str = ""
) -> float:
    """How many real ID numbers fit what a grant shows: a masked ID's visible digits, a
    granted birth date (digits 7–14) and sex (digit 17's parity), and the ID digits a masked
    certificate number (ID + type + level) lets through at its end."""
    digits = list((shown or "*" * 18).ljust(18, "*")[:18])
    if len(tail_from_cert) >= 4:  # cert = 18-digit ID + type + level: its last 4 hold ID 17–18
        for i, ch in zip((16, 17), tail_from_cert[-4:-2], strict=True):
            digits[i] = ch if ch != "*" else digits[i]
    known = [c != "*" for c in digits]
    area = sum(known[:6])
    n = 1.0 if area == 6 else _COUNTIES_PER_CITY if area >= 4 else _COUNTIES
    n *= 1 if birth_known or all(known[6:14]) else _DAYS
    n *= 10 ** sum(not k for k in known[14:16])
    n *= 1 if known[16] else 5 if gender_known else 10
    return n / 11 if known[17] else n  # a visible check digit rules out 10 in 11


def test_masks_cannot_be_undone_from_the_rest_of_the_grant(sample_run: Run, registry):
    """9. Every masked value of every grant leaves at least 1,000 candidates, given the
    grant's other fields and every public area code."""
    import duckdb

    from hub.publish.snapshot import dataset_sql
    from hub.share.tables import masked, shared_dataset

    assert id_candidates("3301**********1234", True, True) < 1000  # the old mask fails it
    checked = 0
    for share in registry.shares.values():
        if not share.active(__import__("datetime").date.today()):
            continue
        with duckdb.connect() as con:
            res = con.execute(dataset_sql(sample_run.data / "published", shared_dataset(share)))
            cols = [d[0] for d in res.description]
            rows = [dict(zip(cols, r, strict=True)) for r in res.fetchall()]
        hidden = [f for f in share.fields if masked(share, registry.fields[f])]
        for row in rows:
            for name in hidden:
                f, value = registry.fields[name], row[name]
                if value is None:
                    continue
                if f.normalize == "cn_id":
                    cert = next(
                        (
                            str(row[c])
                            for c in hidden
                            if registry.fields[c].normalize == "cert_no" and row[c]
                        ),
                        "",
                    )
                    n = id_candidates(
                        str(value),
                        row.get("birth_date") is not None,
                        row.get("gender") is not None,
                        cert,
                    )
                elif f.normalize == "cert_no":  # the ID inside it, plus type and level
                    n = id_candidates(
                        str(value)[:18],
                        row.get("birth_date") is not None,
                        row.get("gender") is not None,
                        str(value),
                    )
                elif not str(value).strip("*"):  # nothing shown: nothing to narrow from
                    n = float("inf")
                else:
                    n = 10 ** str(value).count("*")
                assert n >= 1000, (share.name, name, value, n)
                checked += 1
    assert checked > 100


def test_queries_are_logged_truthfully_bounded_and_authenticated(
    sample_run: Run, tmp_path: Path, registry
):
    """10–14: a scalar subquery reads everyone and is logged so; a catalog-named CTE is refused;
    runaway queries are cancelled; a person lookup logs alike whether or not they exist; the
    CLI runs under a department token and logs its holder."""

    import yaml

    from hub.share.audit import entries
    from tests.conftest import copy_schemas

    s = copy_run(sample_run, tmp_path / "data")
    schemas = tmp_path / "schemas"
    copy_schemas(schemas)
    limits = yaml.safe_load((schemas / "limits.yaml").read_text(encoding="utf-8"))
    (schemas / "limits.yaml").write_text(
        yaml.safe_dump(limits | {"query_seconds": 3, "query_memory_mb": 256}), encoding="utf-8"
    )
    token = dept_token(s, "民政局")

    def q(sql: str) -> Any:
        return hub_cli(
            ["query", "--token", token, "--purpose", "攻击测试", "--format", "json", sql],
            s.data,
            schemas,
            check=False,
        )

    one = q("SELECT person_id FROM minzheng_dibao_check LIMIT 1")
    pid = json.loads(one.stdout)[0]["person_id"]
    leak = q(
        "SELECT (SELECT string_agg(name || ':' || phone, ',') FROM minzheng_dibao_check) "
        f"AS everyone FROM minzheng_dibao_check WHERE person_id = '{pid}'"
    )
    assert leak.returncode == 0
    last = list(entries(s.audit))[-1]
    everyone = {
        r["person_id"] for r in json.loads(q("SELECT person_id FROM minzheng_dibao_check").stdout)
    }
    assert set(last["persons"]) >= everyone - {None} and len(last["persons"]) > 1

    cte = q("WITH pg_settings AS (SELECT 1 AS x) SELECT * FROM pg_settings")
    assert cte.returncode == 2 and "系统目录" in cte.stderr
    inner = q(
        "SELECT * FROM (WITH pg_settings AS (SELECT 1 AS x) SELECT * FROM pg_settings) a, "
        "pg_settings b"
    )
    assert inner.returncode == 2 and "系统目录" in inner.stderr

    loop = q("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r")
    assert loop.returncode == 2 and ("秒，已中止" in loop.stderr or "内存" in loop.stderr)
    cross = q(
        "SELECT count(DISTINCT a.name || b.name || c.name || d.name || e.name || f.name) "
        "FROM minzheng_dibao_check a, minzheng_dibao_check b, "
        "minzheng_dibao_check c, minzheng_dibao_check d, minzheng_dibao_check e, "
        "minzheng_dibao_check f"
    )
    assert cross.returncode == 2 and ("已中止" in cross.stderr)

    bare = hub_cli(
        ["query", "--as", "民政局", "--purpose", "x", "SELECT 1 FROM minzheng_dibao_check"],
        s.data,
        check=False,
    )
    assert bare.returncode == 2 and "部门令牌" in bare.stderr
    assert list(entries(s.audit))[-1]["user"] != "root"
    assert all(e["user"].startswith("token:") for e in entries(s.audit) if e["channel"] == "cli")

    client = TestClient(create_app(s))
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": quote("核查")}
    before = len(list(entries(s.audit)))
    inside = person_where(s, "assistance_type = '01'")
    assert client.get(f"/api/v1/persons/{inside['citizen_id']}", headers=headers).status_code == 200
    middle = len(list(entries(s.audit)))
    r = client.get("/api/v1/persons/110101190001010013", headers=headers)  # nobody here
    assert r.status_code == 404
    after = len(list(entries(s.audit)))
    assert after - middle == middle - before > 0  # the same log entries either way


def test_access_log_survives_edits_cuts_and_crashes(sample_run: Run, tmp_path: Path):
    """6: without the secret, no edit, cut, emptying, deletion or recomputed chain of the
    access log goes unnoticed; a line torn by a crash is set aside and reads go on."""
    import hashlib

    from hub.share.audit import entries, log_path

    s = copy_run(sample_run, tmp_path / "data")
    client = TestClient(create_app(s))
    headers = {"Authorization": f"Bearer {dept_token(s, '民政局')}", "X-Purpose": quote("核查")}
    read = "/api/v1/datasets/minzheng_dibao_check?fields=name&limit=1"
    for _ in range(8):
        assert client.get(read, headers=headers).status_code == 200
    log, head = log_path(s.audit), s.data / "audit_head.json"
    good, good_head = log.read_bytes(), head.read_bytes()
    n = len(good.splitlines())
    assert n >= 8

    def check() -> dict[str, Any]:
        proc = hub_cli(["audit", "--verify", "--json"], s.data, check=False)
        doc: dict[str, Any] = json.loads(proc.stdout)
        assert (proc.returncode == 0) == doc["intact"]
        return doc

    assert check()["intact"]
    lines = good.decode("utf-8").splitlines(keepends=True)
    attacks = {
        "cut": "".join(lines[:-2]),
        "emptied": "",
        "middle removed": "".join(lines[:3] + lines[4:]),
        "edited": "".join([*lines[:2], lines[2].replace("民政局", "卫生健康局"), *lines[3:]]),
    }
    # a line break only some readers see (U+2028, \x1e) must not hide entries from any of them
    attacks["separator"] = "".join([*lines[:2], lines[2].rstrip("\n") + "\x1e", *lines[3:]])
    attacks["not an entry"] = "".join([*lines, '{"a": 1}\n'])
    # recomputed with plain hashes, as if unkeyed: the chain holds but not its macs
    redone, prev = [], "0" * 64
    for line in lines:
        e = json.loads(line)
        e.pop("mac")
        e["prev"] = prev
        body = json.dumps(e, ensure_ascii=False, sort_keys=True)
        e["hash"] = prev = hashlib.sha256(body.encode("utf-8")).hexdigest()
        redone.append(json.dumps(e, ensure_ascii=False) + "\n")
    attacks["recomputed"] = "".join(redone)
    for name, text in attacks.items():
        log.write_text(text, encoding="utf-8")
        doc = check()
        assert not doc["intact"] and doc["problem"], name
    log.write_text(attacks["not an entry"], encoding="utf-8")  # reads go on regardless
    assert client.get(read, headers=headers).status_code == 200
    assert not check()["intact"]
    log.unlink()
    assert not check()["intact"]  # deleted

    log.write_bytes(good)
    head.write_bytes(good_head)  # the read above moved the head on: back to the good log's
    assert check()["intact"]
    with log.open("ab") as fh:  # killed mid-write
        fh.write(b'{"seq": 99, "channel": "api", "us')
    doc = check()
    assert doc["intact"] and doc["torn"] == 1
    assert client.get(read, headers=headers).status_code == 200  # reads go on
    assert len(list(entries(s.audit))) == n + 1 and list(s.audit.glob("access.torn-*.txt"))
    assert check()["intact"]

    # cut, then written on: the head moved on, but the cut is remembered
    log.write_bytes(good[: good.rindex(b"\n", 0, len(good) - 1) + 1])
    assert client.get(read, headers=headers).status_code == 200
    doc = check()
    assert not doc["intact"] and "截断" in doc["problem"]


def test_saves_work_off_the_event_loop_and_check_like_the_pipeline(
    sample_run: Run, tmp_path: Path, registry, monkeypatch
):
    """Other: a save's validation and lookups run in the thread pool, not on the event loop
    (where 50 users' saves queued behind each other and /healthz with them); the cheap
    validation finds exactly what staging the whole form source finds."""
    import asyncio
    import random

    import hub.form.validate as validate
    from hub.ingest.raw import store_table
    from hub.registry.formsource import FORM_SOURCE
    from hub.warehouse import connect
    from tests.test_form import PASSWORD, form_of

    on_loop: list[bool] = []
    real = validate.check_submissions

    def spy(*args: Any, **kw: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(*args, **kw)

    monkeypatch.setattr(validate, "check_submissions", spy)
    s = copy_run(sample_run, tmp_path / "data")
    mine = person_where(s, "true")
    hub_cli(
        ["user", "add", "u1", "--community", mine["community_code"], "--password", PASSWORD], s.data
    )
    client = TestClient(create_app(s))
    csrf = _login(client, "u1", PASSWORD)
    page = client.get(f"/residents/{mine['person_id']}").text
    r = client.post(
        f"/residents/{mine['person_id']}", data=form_of(page) | {"phone": "13912345678"}
    )
    assert (r.status_code == 200 and "已保存" in r.text) or "待归集" in r.text
    r = client.post("/check", json={"phone": "12"}, headers={"x-csrf-token": csrf})
    assert r.status_code == 200 and r.json()["issues"]
    assert on_loop and not any(on_loop)

    # the page's key reused for another entry (Back, then edit) files that entry too
    from hub.form.submissions import read_all

    form = form_of(client.get(f"/residents/{mine['person_id']}").text)
    first = client.post(f"/residents/{mine['person_id']}", data=form | {"phone": "13911112222"})
    again = client.post(f"/residents/{mine['person_id']}", data=form | {"phone": "13911112222"})
    other = client.post(f"/residents/{mine['person_id']}", data=form | {"phone": "13933334444"})
    assert first.status_code == again.status_code == other.status_code == 200
    phones = [x.values.get("phone") for x in read_all(s.submissions)]
    assert phones.count("13911112222") == 1 and phones.count("13933334444") == 1
    deep = client.post("/check", content=b"[" * 5000 + b"]" * 5000, headers={"x-csrf-token": csrf})
    big = client.post("/check", content=b" " * 400_000 + b"{}", headers={"x-csrf-token": csrf})
    assert deep.status_code == 400 and big.status_code == 413 and "过大" in big.json()["detail"]

    # the cut-down check against the pipeline's staging of the whole source, on hostile values
    fields = [c.field for c in registry.sources[FORM_SOURCE].mapped if c.field]
    junk = ["", " ", "12", "x" * 300, "=1+1", "1990-13-45", "110101199003077", "０１", "是", "张"]
    rng = random.Random(12)
    subs = []
    for _ in range(60):
        chosen = rng.sample(fields, rng.randint(1, 8))
        values = {f: rng.choice([*junk, str(mine.get(f) or "")]) for f in chosen}
        subs.append(Submission(by="", community="", values={k: v for k, v in values.items() if v}))
    quick = [
        sorted((i.field, i.severity, i.message) for i in validate.check_entry(registry, sub.values))
        for sub in subs
    ]
    whole = []
    for sub in subs:
        con = connect(Path(":memory:"))
        with tempfile.TemporaryDirectory() as tmp:
            body = json.dumps(sub.values, ensure_ascii=False).encode("utf-8")
            table = submission_table(registry, [sub])
            store_table(con, registry.sources[FORM_SOURCE], "e.json", body, table, Path(tmp))
            rows = validate.form_issues(con, registry, "field, severity, message", "field")
        con.close()
        whole.append(sorted(rows))
    assert quick == whole
    assert sum(map(len, whole)) > 60  # the junk did break rules


@pytest.mark.slow
def test_web_bench_loses_no_acknowledged_save(tmp_path: Path):
    """8: real sessions against hub serve while hub run runs; every save the server
    acknowledged is stored and in core after the next run, with no errors."""
    proc = hub_cli(
        ["bench", "web", "--users", "4", "--seconds", "10", "--think", "1", "--json"],
        tmp_path / "data",
        timeout=600,
    )
    doc = json.loads(proc.stdout)
    assert doc["errors"] == 0, doc["error_samples"]
    acked = doc["submissions_acknowledged"]
    assert acked > 0 and doc["actions"]["save"]["n"] >= acked
    assert doc["submissions_stored"] == doc["submissions_in_core"] == acked
    assert doc["residents_showing_last_save"] == doc["residents_edited"] > 0
    assert doc["runs_during"] >= 1 and doc["runs_failed"] == 0
    assert doc["actions"]["save"]["p95"] is not None


def test_request_sizes_are_bounded_before_they_reach_the_log(sample_run: Run, tmp_path: Path):
    """15 (sizes): a 60 KB purpose, a 5,000-field and a 50-filter request are refused with the
    limit named; what the log keeps of any entry is bounded."""
    from hub.share.audit import entries

    s = copy_run(sample_run, tmp_path / "data")
    client = TestClient(create_app(s))
    token = dept_token(s, "民政局")
    url = "/api/v1/datasets/minzheng_dibao_check"
    ok = {"Authorization": f"Bearer {token}", "X-Purpose": quote("核查")}
    huge = {"Authorization": f"Bearer {token}", "X-Purpose": quote("用" * 60_000)}
    r = client.get(url, params={"fields": "name", "limit": 1}, headers=huge)
    assert r.status_code == 400 and "用途最长 200 字" in r.json()["detail"]
    for bad in ("核查\u2028第二行", "核\x1e查", "核查\n第二行"):  # a line break would split the log
        h = ok | {"X-Purpose": quote(bad)}
        r = client.get(url, params={"fields": "name", "limit": 1}, headers=h)
        assert r.status_code == 400 and "控制字符" in r.json()["detail"], bad
    r = client.get(url, params={"fields": ",".join(["name"] * 5000)}, headers=ok)
    assert r.status_code == 400 and "最多选 100 个字段" in r.json()["detail"]
    r = client.get(url, params={"filter": ["name=x"] * 50}, headers=ok)
    assert r.status_code == 400 and "20 个筛选条件" in r.json()["detail"]
    log = list(entries(s.audit))
    assert log and all(len(json.dumps(e, ensure_ascii=False)) < 50_000 for e in log)
    assert max(len(e["purpose"]) for e in log) <= 200


def test_a_killed_publish_leaves_nothing_behind(sample_run: Run, tmp_path: Path):
    """Other: a kill during publishing leaves a `.tmp-` folder and a version no release
    names; the next run removes both and keeps every released version."""
    s = copy_run(sample_run, tmp_path / "data")
    pub = s.published
    kept = {p for p in pub.rglob("*.parquet")}
    leftovers = [
        pub / "person" / ".tmp-0123456789abcdef",
        pub / "person" / "20991231T000000Z-000000000000",
        pub / "shared" / "minzheng_dibao_check" / ".tmp-feedfacefeedface",
    ]
    for d in leftovers:
        d.mkdir(parents=True)
        (d / "data.parquet").write_bytes(b"PAR1 torn")
    hub_cli(["run"], s.data)
    assert not any(d.exists() for d in leftovers)
    assert all(p.exists() for p in kept)  # rollback still has every release's files
    current = json.loads((pub / "CURRENT.json").read_text(encoding="utf-8"))
    assert all(dataset_files(pub, d, current) for d in current["datasets"])


def test_one_line_in_another_encoding_is_quarantined_as_that_line(sample_run: Run, tmp_path: Path):
    """Other: a UTF-8 export (with or without BOM) with one row pasted in GB18030 loads; that
    row alone is quarantined, with a Chinese reason naming file, row and column."""
    sample = Path(__file__).parent.parent / "data" / "sample"
    files, rows = {}, {}
    for pattern, name in (
        ("退役军人_*.csv", "退役军人_信息采集表_202601.csv"),
        ("卫健_*.csv", "卫健_65岁以上老年人健康管理_202601.csv"),
    ):
        data = next(sample.glob(pattern)).read_bytes()
        bom = data.startswith(b"\xef\xbb\xbf")
        lines = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8").split("\n")
        at = next(i for i, line in enumerate(lines) if i > 3 and re.search("[\u4e00-\u9fff]", line))
        body = b"\n".join(
            line.encode("gb18030" if i == at else "utf-8") for i, line in enumerate(lines)
        )
        files[name] = (b"\xef\xbb\xbf" if bom else b"") + body
        rows[name] = at + 1
    gb = next(sample.glob("公安_*.csv")).read_bytes().decode("gb18030").split("\n")
    at = next(i for i, line in enumerate(gb) if i > 3 and re.search("[\u4e00-\u9fff]", line))
    name = "公安_户籍人口花名册_202601.csv"  # a GB18030 roster with one row pasted as UTF-8
    files[name] = b"\n".join(
        line.encode("utf-8" if i == at else "gb18030") for i, line in enumerate(gb)
    )
    rows[name] = at + 1
    s = _district_with(sample_run, tmp_path, files)
    doc = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    loads = {x["file"]: x for x in doc["loads"]}
    with duckdb_ro(s) as con:
        for name, row in rows.items():
            assert loads[name]["status"] == "loaded", loads[name]
            hits = con.execute(
                "SELECT source_row, column_header, message FROM quarantine.issues "
                "WHERE file_name = ? AND rule_kind = 'encoding'",
                [name],
            ).fetchall()
            assert len(hits) == 1, (name, hits)
            source_row, header, message = hits[0]
            assert header and "编码与文件的其他行不同" in message
            assert abs(source_row - row) <= 1  # the line's record (a title row may shift it)
            batch, source = loads[name]["batch_id"], loads[name]["source"]
            bad = con.execute(
                "SELECT count(DISTINCT source_row) FROM quarantine.issues "
                "WHERE batch_id = ? AND severity = 'error'",
                [batch],
            ).fetchall()[0][0]
            staged = con.execute(
                f"SELECT count(*) FROM staged.{source} WHERE _batch_id = ?", [batch]
            ).fetchall()[0][0]
            assert staged == loads[name]["rows"] - bad and staged > 0  # the rest loaded


def test_copies_and_huge_blocks_cannot_exhaust_linkage(sample_run: Run, tmp_path: Path):
    """2: a file of 100,000 copies of one ID-less row links as one row (the copies follow it,
    counted); rows of a block too large to compare are listed for review, not dropped."""

    import yaml

    from tests.conftest import copy_schemas

    schemas = tmp_path / "schemas"
    copy_schemas(schemas)
    linkage = yaml.safe_load((schemas / "linkage.yaml").read_text(encoding="utf-8"))
    (schemas / "linkage.yaml").write_text(
        yaml.safe_dump(linkage | {"max_block_pairs": 1000}, allow_unicode=True), encoding="utf-8"
    )
    sample = Path(__file__).parent.parent / "data" / "sample"
    lines = next(sample.glob("退役军人_*.csv")).read_text(encoding="utf-8").splitlines()
    header, row = lines[0], lines[1].split(",")
    row[4] = ""  # no ID: every copy would be a node of its own
    copies = header + "\n" + "\n".join([",".join(row)] * 100_000) + "\n"
    crowd = [header]
    for i in range(60):  # sixty different people giving one office phone
        r = [str(i + 1), f"测试{chr(0x4E00 + i * 7)}{chr(0x4E8C + i)}", "男", "汉族", ""]
        r += [f"19{40 + i}年1月1日", "", "", "", "", "", "057188886666", f"某路{i}号", ""]
        crowd.append(",".join(r))
    near = header + "\n" + "\n".join(f"{i},{','.join(row[1:])}" for i in range(1, 301)) + "\n"
    s = _district_with(
        sample_run,
        tmp_path,
        {
            "退役军人_信息采集表_202601.csv": copies.encode("utf-8"),
            "退役军人_信息采集表_202602.csv": ("\n".join(crowd) + "\n").encode("utf-8"),
            "退役军人_信息采集表_202603.csv": near.encode("utf-8"),  # only 序号 differs
        },
    )
    hub_cli(["run"], s.data, schemas, timeout=900)
    status = json.loads(hub_cli(["status", "--json"], s.data, schemas).stdout)
    assert status["linkage"]["duplicates"] >= 99_999 + 299
    with duckdb_ro(s) as con:
        rows_and_people = {
            name: con.execute(
                "SELECT count(*), count(DISTINCT person_id) FROM core.links l JOIN raw._batches b "
                "ON b.batch_id = l.batch_id WHERE b.file_name = ?",
                [name],
            ).fetchall()[0]
            for name in ("退役军人_信息采集表_202601.csv", "退役军人_信息采集表_202603.csv")
        }
    assert rows_and_people["退役军人_信息采集表_202601.csv"] == (100_000, 1)
    assert rows_and_people["退役军人_信息采集表_202603.csv"] == (300, 1)
    capped = json.loads(hub_cli(["review", "--capped", "--json"], s.data, schemas).stdout)
    mine = [c for c in capped if c["block"] == "联系电话"]
    assert len(mine) >= 50 and all(c["block_rows"] >= 60 for c in mine)
    assert status["linkage"]["capped"] == len(capped)
    out = hub_cli(["status"], s.data, schemas).stdout
    assert "重复行" in out and "比对块过大" in out


def test_data_behind_a_cover_sheet_is_found(sample_run: Run, tmp_path: Path):
    """Other: an export whose first sheet is 填表说明 (text, no table) and whose data is on
    the second sheet loads every row, saying which sheet it read."""
    import openpyxl

    src = next((Path(__file__).parent.parent / "data" / "sample").glob("残联_*.xlsx"))
    from hub.ingest.read import read_file

    rows = read_file(src).table.num_rows
    wb = openpyxl.load_workbook(src)
    cover = wb.create_sheet("填表说明", 0)
    cover["A1"] = "填表说明"
    cover["A2"] = "1. 本表由各社区于每月 5 日前报送；2. 身份证号码须为 18 位。"
    cover["B4"] = "联系人：张三"
    path = tmp_path / "c.xlsx"
    wb.save(path)
    name = "残联_持证残疾人花名册_202601.xlsx"
    s = _district_with(sample_run, tmp_path, {name: path.read_bytes()})
    doc = json.loads(hub_cli(["run", "--json"], s.data).stdout)
    load = next(x for x in doc["loads"] if x["file"] == name)
    assert load["status"] == "loaded" and load["rows"] == rows > 0, load
    assert any("已读取工作表" in n and "填表说明" in n for n in load["notes"]), load["notes"]
