"""Re-running is safe; snapshots are versioned, switched atomically and the old one stays readable."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from hub.publish.guards import publish_guards
from hub.publish.snapshot import dataset_files, dataset_sql, fingerprint_table, read_current
from hub.warehouse import warehouse
from tests.conftest import hub_cli

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _digest(files: list[Path]) -> str:
    """Of every file of a dataset (a person dataset is published as a base and deltas)."""
    assert files
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def _counts(data: Path) -> dict[str, int]:
    return json.loads(hub_cli(["status", "--json"], data).stdout) | {}


def _loaded(tmp_path: Path, skip: str = "") -> Path:
    """A district whose first run loaded the sample's files (but those starting with `skip`)."""
    data = tmp_path / "data"
    (data / "incoming").mkdir(parents=True)
    for f in sorted(SAMPLE.glob("*.*")):
        if not (skip and f.name.startswith(skip)):
            shutil.copy(f, data / "incoming")
    hub_cli(["run", "--no-gx"], data)
    return data


def test_running_twice_changes_nothing(tmp_path):
    data = _loaded(tmp_path)
    first = json.loads(hub_cli(["status", "--json"], data).stdout)
    pointer = read_current(data / "published")
    digest = _digest(dataset_files(data / "published", "person"))
    for f in SAMPLE.glob("*.*"):  # the same files arrive again
        shutil.copy(f, data / "incoming")
    second_run = json.loads(hub_cli(["run", "--no-gx", "--json"], data).stdout)
    assert {r["status"] for r in second_run["loads"]} == {"duplicate"}
    assert second_run["published"]["changed"] == []
    assert json.loads(hub_cli(["status", "--json"], data).stdout) == first
    assert read_current(data / "published") == pointer
    assert _digest(dataset_files(data / "published", "person")) == digest


def test_new_data_publishes_a_new_release_and_the_old_one_stays_readable(tmp_path):
    data = _loaded(tmp_path, skip="卫健")
    old = read_current(data / "published")
    shutil.copy(next(SAMPLE.glob("卫健_*.csv")), data / "incoming")
    hub_cli(["run", "--no-gx"], data)
    new = read_current(data / "published")
    assert new["release"] == old["release"] + 1
    assert new["datasets"]["person"] != old["datasets"]["person"]
    assert dataset_files(data / "published", "person", old)
    con = duckdb.connect()
    with_health = "SELECT count(*) FROM ({}) WHERE health_status IS NOT NULL"
    old_rows = dataset_sql(data / "published", "person", old)
    assert con.execute(with_health.format(old_rows)).fetchall()[0][0] == 0
    new_rows = dataset_sql(data / "published", "person")
    assert con.execute(with_health.format(new_rows)).fetchall()[0][0] > 0
    out = hub_cli(["rollback"], data).stdout
    assert f"第 {old['release']} 版" in out
    assert read_current(data / "published")["datasets"] == old["datasets"]


def test_publish_guard_checks_the_persons_changed_since_the_last_release(tmp_path):
    data = _loaded(tmp_path)
    released = read_current(data / "published")
    with warehouse(data / "warehouse.duckdb") as con:
        assert publish_guards(con) == []
        (_, a_id), (b, _), (c, _) = con.execute(
            "SELECT person_id, citizen_id FROM core.person WHERE citizen_id IS NOT NULL "
            "ORDER BY person_id LIMIT 3"
        ).fetchall()
        # a change no release holds yet: b now carries a's ID (a is unchanged), c an invalid one
        con.execute("UPDATE core.person SET citizen_id = ? WHERE person_id = ?", [a_id, b])
        con.execute(
            "UPDATE core.person SET citizen_id = '110101199001011230' WHERE person_id = ?", [c]
        )
        con.execute("INSERT INTO core._unpublished VALUES (?), (?)", [b, c])
        assert publish_guards(con) == [
            "core.person：0 个重复的人员编号，1 个重复的身份证号码，1 个无效的身份证号码"
        ]
    for _ in range(2):  # a blocked run leaves its persons unpublished: the next one blocks too
        doc = json.loads(hub_cli(["run", "--no-gx", "--json"], data, check=False).stdout)
        assert doc["blocked"] and "1 个重复的身份证号码" in doc["blocked"][0]
        assert read_current(data / "published") == released


def test_fingerprint_ignores_row_order_but_not_duplicates_or_columns():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', NULL::DATE), "
        "(2, 'y', DATE '2020-01-01'), (2, 'y', DATE '2020-01-01')) v(i, s, d)"
    )
    first = fingerprint_table(con, "t")
    con.execute("CREATE TABLE u AS SELECT * FROM t ORDER BY i DESC")
    con.execute("DROP TABLE t")
    con.execute("ALTER TABLE u RENAME TO t")
    assert fingerprint_table(con, "t") == first
    con.execute("DELETE FROM t WHERE rowid = (SELECT min(rowid) FROM t WHERE i = 2)")
    deduped = fingerprint_table(con, "t")
    assert deduped[0] == 2 and deduped[1] != first[1]
    con.execute("ALTER TABLE t RENAME COLUMN s TO s2")
    assert fingerprint_table(con, "t")[1] != deduped[1]


def test_bench_prints_every_figure(tmp_path):
    doc = json.loads(hub_cli(["bench", "--residents", "300", "--json"], tmp_path).stdout)
    for key in ("residents", "source_rows", "stage_s", "total_s", "peak_rss_mb", "raw_read_s"):
        assert key in doc
    assert doc["residents"] == doc["persons"] == 300
    stages = {"load", "stage", "expectations", "expectations_wait", "link", "core", "publish"}
    assert set(doc["stage_s"]) == stages
    assert set(doc["stage_peak_mb"]) >= stages - {"expectations"}
    assert all(v > 0 for v in doc["stage_peak_mb"].values())
    # rounded to a whole row: a slow small run's figure is within one of the quotient
    assert doc["rows_per_s"] == pytest.approx(doc["source_rows"] / doc["total_s"], abs=1)
    assert doc["ratio"] == pytest.approx(doc["total_s"] / doc["raw_read_s"], rel=0.15)
    assert doc["ratio"] > 1


@pytest.mark.slow
def test_bench_scale_gives_growth_of_time_and_memory(tmp_path):
    doc = json.loads(
        hub_cli(["bench", "scale", "-n", "300", "-n", "600", "--json"], tmp_path).stdout
    )
    small, large = doc["runs"]
    assert doc["sizes"] == [300, 600] and large["persons"] == 600
    assert doc["time_growth"] == pytest.approx(large["total_s"] / small["total_s"], rel=0.01)
    assert doc["memory_growth"] == pytest.approx(
        large["peak_rss_mb"] / small["peak_rss_mb"], rel=0.01
    )
    assert 1.5 < doc["rows_growth"] < 2.5
