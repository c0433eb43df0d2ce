"""Rules staging judges across rows of one file, through `hub run` on a department's file."""

from __future__ import annotations

import csv
import io
import json

import duckdb

from tests.conftest import REPO, hub_cli

VETERANS = next((REPO / "data" / "sample").glob("退役军人_*.csv"))


def test_an_id_written_twice_in_one_file_flags_both_rows_and_keeps_them(hub_home):
    with VETERANS.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    col = header.index("身份证号")
    ids = [r[col] for r in rows]
    first = next(i for i, v in enumerate(ids) if v and ids.count(v) == 1)
    rows[first + 5][col] = " " + rows[first][col].lower() + " "  # the same ID, written apart
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    (hub_home.incoming / "退役军人_信息采集表_202511.csv").write_text(buf.getvalue(), "utf-8")
    proc = hub_cli(["run", "--no-gx", "--json"], hub_home.data, hub_home.schemas)
    assert json.loads(proc.stdout)["loads"][0]["rows"] == len(rows)
    with duckdb.connect(str(hub_home.warehouse), read_only=True) as con:
        flagged = con.execute(
            "SELECT source_row, severity, message FROM quarantine.issues "
            "WHERE rule = 'duplicate_in_batch' ORDER BY 1"
        ).fetchall()
        staged = con.execute("SELECT count(*) FROM staged.tuiyi_veterans").fetchall()[0][0]
    assert [r[0] for r in flagged] == [first + 2, first + 7]  # file rows: after the header
    assert {(r[1], r[2]) for r in flagged} == {("warning", "同一文件中公民身份号码重复出现")}
    assert staged >= len(rows) - 40  # a warning keeps the rows (only error rows are held back)
