"""Rules staging judges across rows of one file, through `hub run` on a department's file."""

from __future__ import annotations

import csv
import io
import json
import shutil

import duckdb

from hub.normalize.cn_id import is_valid
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


def test_a_birth_date_is_compared_with_the_id_as_precisely_as_it_was_written(hub_home):
    """1957年 agrees with any day of 1957 and 1957.05 with any day of May; a day, a month or a
    year the ID does not hold is flagged (the ID's own date passes without a second look)."""
    with VETERANS.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    cid, birth = header.index("身份证号"), header.index("出生日期")
    valid = [i for i, r in enumerate(rows) if is_valid(r[cid]) and r[cid][6:10] > "1930"][:6]
    # (as written, which part differs from the ID: none, or the year, month or day)
    cases = [("{y}年", ""), ("{y}.{m}", ""), ("{y}年{m}月{d}日", "")]
    cases += [("{y}年", "y"), ("{y}.{m}", "m"), ("{y}-{m}-{d}", "d")]
    written = {}
    for i, (text, other) in zip(valid, cases, strict=True):
        part = dict(y=rows[i][cid][6:10], m=rows[i][cid][10:12], d=rows[i][cid][12:14])
        if other == "y":
            part["y"] = str(int(part["y"]) + 1)
        elif other:
            part[other] = "11" if part[other] != "11" else "12"
        rows[i][birth] = text.format(**part)
        written[i + 2] = rows[i][birth]  # the file's row: after the header
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    (hub_home.incoming / "退役军人_信息采集表_202511.csv").write_text(buf.getvalue(), "utf-8")
    hub_cli(["run", "--no-gx", "--json"], hub_home.data, hub_home.schemas)
    with duckdb.connect(str(hub_home.warehouse), read_only=True) as con:
        flagged = {
            r[0]
            for r in con.execute(
                "SELECT source_row FROM quarantine.issues WHERE rule = 'birth_date_mismatch'"
            ).fetchall()
        }
    rows_of = sorted(written)
    assert flagged & set(rows_of) == set(rows_of[3:6]), written


def test_sources_staged_side_by_side_judge_as_one_after_another(tmp_path, monkeypatch):
    """Staging runs two sources at once on a new warehouse (the tables they share made
    first): what it keeps and flags is what staging them one by one gives."""
    from hub import pipeline
    from hub.registry.loader import load_registry
    from hub.settings import Settings
    from hub.warehouse import q

    def staged(threads: int) -> dict[str, list[tuple[object, ...]]]:
        s = Settings(schemas=REPO / "schemas", data=tmp_path / f"t{threads}")
        s.ensure()
        for f in (REPO / "data" / "sample").glob("*.*"):
            shutil.copy(f, s.incoming)
        monkeypatch.setenv("HUB_THREADS", str(threads))
        registry = load_registry(s.schemas)
        out = pipeline.run_pipeline(s, registry, validate_with_gx=False)
        assert [r.source for r in out.stages] == list(out.checks) == list(registry.sources)
        with duckdb.connect(str(s.warehouse), read_only=True) as con:
            tables = [
                f"{schema}.{name}"
                for schema, name in con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() "
                    "WHERE schema_name IN ('staged', 'quarantine') ORDER BY ALL"
                ).fetchall()
                if name != "_expectations"
            ]
            out = {}
            for t in tables:  # when a file was loaded differs from run to run
                schema, name = t.split(".")
                cols = [
                    r[0]
                    for r in con.execute(
                        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? "
                        "AND table_name = ? AND data_type NOT LIKE 'TIMESTAMP%'",
                        [schema, name],
                    ).fetchall()
                ]
                sql = f"SELECT {', '.join(q(c) for c in cols)} FROM {t} ORDER BY ALL"
                out[t] = con.execute(sql).fetchall()
            return out

    alone, together = staged(1), staged(2)
    assert len(together["quarantine.issues"]) > 20 and len(together) > 10
    assert together == alone
