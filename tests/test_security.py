"""The trust issue's attacks, replayed: each case is written as the attacker would try it."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient

from hub.form.submissions import Submission, append
from hub.settings import Settings
from hub.web.app import create_app
from tests.conftest import Run, hub_cli
from tests.test_form import copy_run, person_where

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
            "--as",
            "民政局",
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
