"""Re-running is safe; snapshots are versioned, switched atomically and the old one stays readable."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb

from hub.publish.snapshot import dataset_path, read_current
from tests.conftest import hub_cli

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(data: Path) -> dict[str, int]:
    return json.loads(hub_cli(["status", "--json"], data).stdout) | {}


def test_running_twice_changes_nothing(tmp_path):
    data = tmp_path / "data"
    (data / "incoming").mkdir(parents=True)
    for f in SAMPLE.glob("*.*"):
        shutil.copy(f, data / "incoming")
    hub_cli(["run", "--no-gx"], data)
    first = json.loads(hub_cli(["status", "--json"], data).stdout)
    pointer = read_current(data / "published")
    person = dataset_path(data / "published", "person")
    digest = _digest(person)
    for f in SAMPLE.glob("*.*"):  # the same files arrive again
        shutil.copy(f, data / "incoming")
    second_run = json.loads(hub_cli(["run", "--no-gx", "--json"], data).stdout)
    assert {r["status"] for r in second_run["loads"]} == {"duplicate"}
    assert second_run["published"]["changed"] == []
    assert json.loads(hub_cli(["status", "--json"], data).stdout) == first
    assert read_current(data / "published") == pointer
    assert _digest(dataset_path(data / "published", "person")) == digest


def test_new_data_publishes_a_new_release_and_the_old_one_stays_readable(tmp_path):
    data = tmp_path / "data"
    (data / "incoming").mkdir(parents=True)
    files = sorted(SAMPLE.glob("*.*"))
    for f in files:
        if not f.name.startswith("卫健"):
            shutil.copy(f, data / "incoming")
    hub_cli(["run", "--no-gx"], data)
    old = read_current(data / "published")
    shutil.copy(next(SAMPLE.glob("卫健_*.csv")), data / "incoming")
    hub_cli(["run", "--no-gx"], data)
    new = read_current(data / "published")
    assert new["release"] == old["release"] + 1
    assert new["datasets"]["person"] != old["datasets"]["person"]
    old_path = dataset_path(data / "published", "person", old)
    assert old_path.exists()
    con = duckdb.connect()
    with_health = "SELECT count(*) FROM read_parquet('{}') WHERE health_status IS NOT NULL"
    assert con.execute(with_health.format(old_path)).fetchall()[0][0] == 0
    assert (
        con.execute(with_health.format(dataset_path(data / "published", "person"))).fetchall()[0][0]
        > 0
    )
    out = hub_cli(["rollback"], data).stdout
    assert f"第 {old['release']} 版" in out
    assert read_current(data / "published")["datasets"] == old["datasets"]
