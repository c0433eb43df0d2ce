"""Person datasets published as a base and deltas (hub.publish.segments)."""

from __future__ import annotations

import duckdb
import pytest

from hub.core.changes import published
from hub.publish import segments
from hub.publish.snapshot import dataset_files, dataset_sql, publish, rollback

DATASETS = {"person": ("core.person", "person_id")}


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA core")
    c.execute(
        "CREATE TABLE core.person AS SELECT 'p' || lpad(i::VARCHAR, 4, '0') AS person_id, "
        "i AS v FROM range(1000) t(i)"
    )
    c.execute("CREATE TABLE core._unpublished (person_id VARCHAR)")
    c.execute("INSERT INTO core._unpublished VALUES ('*')")
    return c


def release(con, root):
    out = publish(con, root, DATASETS)
    published(con)
    return out


def rows(con, root):
    return dict(con.execute(f"SELECT person_id, v FROM ({dataset_sql(root, 'person')})").fetchall())


def change(con, sql, persons):
    con.execute(sql)
    con.executemany("INSERT INTO core._unpublished VALUES (?)", [[p] for p in persons])


def test_a_delta_holds_only_the_touched_persons_and_readers_see_the_table(con, tmp_path):
    release(con, tmp_path)
    change(
        con,
        "UPDATE core.person SET v = -1 WHERE person_id IN ('p0001', 'p0002')",
        ["p0001", "p0002"],
    )
    change(con, "DELETE FROM core.person WHERE person_id = 'p0003'", ["p0003"])  # merged away
    change(con, "INSERT INTO core.person VALUES ('p9999', 7)", ["p9999"])
    out = release(con, tmp_path)
    assert out.changed == ["person"]
    files = dataset_files(tmp_path, "person")
    assert len(files) == 2 and files[0].stat().st_nlink == 2  # the base, shared with release 1
    delta = con.execute(f"SELECT count(*) FROM read_parquet('{files[1]}')").fetchall()[0][0]
    assert delta == 3  # p0001, p0002, p9999; p0003 is gone from the index
    assert rows(con, tmp_path) == dict(
        con.execute("SELECT person_id, v FROM core.person").fetchall()
    )
    # the previous release still reads as it was
    first = rows(con, tmp_path) | {}
    rollback(tmp_path)
    assert rows(con, tmp_path)["p0001"] == 1 and "p0003" in rows(con, tmp_path)
    assert first["p0001"] == -1


def test_touching_persons_without_changing_them_publishes_nothing(con, tmp_path):
    first = release(con, tmp_path)
    change(con, "UPDATE core.person SET v = v WHERE person_id = 'p0005'", ["p0005"])
    again = release(con, tmp_path)
    assert again.changed == [] and again.release == first.release


def test_after_a_rollback_the_dataset_is_written_whole(con, tmp_path):
    release(con, tmp_path)
    change(con, "UPDATE core.person SET v = 5 WHERE person_id = 'p0001'", ["p0001"])
    release(con, tmp_path)
    rollback(tmp_path)  # readers see release 1; the warehouse published release 2
    change(con, "UPDATE core.person SET v = 6 WHERE person_id = 'p0002'", ["p0002"])
    release(con, tmp_path)
    assert len(dataset_files(tmp_path, "person")) == 1  # not a delta on the rolled-back base
    assert rows(con, tmp_path) == dict(
        con.execute("SELECT person_id, v FROM core.person").fetchall()
    )


def test_too_many_segments_or_superseded_rows_rewrite_the_dataset(con, tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "MAX_SEGMENTS", 3)
    release(con, tmp_path)
    counts = []
    for i in range(4):
        pid = f"p{10 + i:04d}"
        change(con, f"UPDATE core.person SET v = -{i} WHERE person_id = '{pid}'", [pid])
        release(con, tmp_path)
        counts.append(len(dataset_files(tmp_path, "person")))
    assert counts == [2, 3, 1, 2]
    # a delta whose persons all moved on to a later one is dropped from the version
    for v in (1, 2):
        change(con, f"UPDATE core.person SET v = {v} WHERE person_id = 'p0500'", ["p0500"])
        release(con, tmp_path)
    assert len(dataset_files(tmp_path, "person")) == 3
    change(con, "UPDATE core.person SET v = v + 1", [f"p{i:04d}" for i in range(1000)])
    release(con, tmp_path)
    assert len(dataset_files(tmp_path, "person")) == 1
    assert rows(con, tmp_path) == dict(
        con.execute("SELECT person_id, v FROM core.person").fetchall()
    )


def test_a_rebuild_that_changes_nothing_leaves_the_next_run_a_delta(con, tmp_path):
    release(con, tmp_path)
    # what `hub run --full` does to the warehouse: derived tables (the remembered release
    # among them) rebuilt from raw, every person unpublished, the same content
    con.execute("DROP TABLE IF EXISTS core._published_versions")
    change(con, "SELECT 1", ["*"])
    assert release(con, tmp_path).changed == []
    change(con, "UPDATE core.person SET v = -1 WHERE person_id = 'p0001'", ["p0001"])
    out = release(con, tmp_path)
    assert out.changed == ["person"]
    files = dataset_files(tmp_path, "person")
    assert len(files) == 2  # the base and a delta of one person, not the whole table again
    assert con.execute(f"SELECT count(*) FROM read_parquet('{files[1]}')").fetchall()[0][0] == 1
