"""A city of three generated districts (residents of one district living in the next): the city
view is the same whether the districts run in this process (`hub run`), side by side on
Dagster's multiprocess executor, or on two real Celery workers over redis-server."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from hub.city.districts import city_data, district_settings
from hub.city.services import redis, stop, wait_for
from hub.normalize.cn_id import make_id
from hub.publish.snapshot import dataset_sql
from hub.registry import RegistryError, load_registry
from hub.settings import Settings
from tests.conftest import REPO, SCHEMAS, hub_cli

DISTRICTS = ["330102", "330105", "330106"]
VIEW = ("city_person", "city_provenance", "city_conflicts")
BIN = Path(sys.executable).parent


def _city_root(root: Path) -> Path:
    """A city deployment: the sample district's registrations shared by three generated
    districts, each district's and the city's key made up front (so copies of the folder make
    the same opaque ids)."""
    (root / "schemas").mkdir(parents=True)
    shutil.copytree(SCHEMAS / "sources", root / "schemas" / "sources")
    hub_cli(
        ["city", "sample", "--districts", "3", "--residents", "500", "--movers", "150"],
        root / "data",
        root / "schemas",
    )
    base = Settings(schemas=root / "schemas", data=root / "data")
    for code in DISTRICTS:
        Settings(schemas=base.schemas, data=base.data / "districts" / code).secret()
    Settings(schemas=base.schemas, data=city_data(base)).secret()
    return root


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _city_root(tmp_path_factory.mktemp("city") / "template")


def _copy(city: Path, dest: Path) -> Path:
    shutil.copytree(city, dest)
    return dest


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HUB_SCHEMAS": str(root / "schemas"),
        "HUB_DATA": str(root / "data"),
        "DAGSTER_HOME": str(_dagster_home(root)),
        **extra,
    }


def _dagster_home(root: Path) -> Path:
    home = root / "dagster_home"
    if not home.exists():
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


def _dagster_job(root: Path, job: str, config: Path | None = None, **env: str) -> str:
    args = [str(BIN / "dagster"), "job", "execute", "-m", "pipelines.definitions", "-a", "defs"]
    args += ["-j", job] + (["-c", str(config)] if config else [])
    proc = subprocess.run(
        args, env=_env(root, **env), cwd=REPO, capture_output=True, text=True, timeout=900
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "RUN_SUCCESS" in log, log[-4000:]
    return log


def _view(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    published = root / "data" / "city" / "published"
    with duckdb.connect() as con:
        return {
            name: con.execute(
                f"SELECT * FROM ({dataset_sql(published, name)}) ORDER BY ALL"
            ).fetchall()
            for name in VIEW
        }


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 (installed by `make redis`), stopped by its pid."""
    with redis(tmp_path) as url:
        yield url


def _workers(
    root: Path, broker: str, owned: list[str]
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    """A Celery worker per entry of `owned` (the districts whose files it holds), started as a
    worker machine is: `hub city worker`, one thread each."""
    out = []
    for i, districts in enumerate(owned, 1):
        log = root / f"worker{i}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "city", "worker", "--broker", broker,
                 "--districts", districts, "--threads", "1", "--name", f"hubworker{i}"],
                env=_env(root),
                cwd=REPO,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        out.append((proc, log))
    return out


def _truth(root: Path) -> dict[str, dict[str, set[str]]]:
    """citizen ID -> district -> the sources whose rows name them (as generated)."""
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for code in DISTRICTS:
        with (root / "data" / "districts" / code / "truth" / "rows.csv").open(
            encoding="utf-8"
        ) as fh:
            for row in csv.DictReader(fh):
                out[row["citizen_id"]][code].add(row["source"])
    return out


@pytest.mark.slow
def test_the_city_view_is_the_same_in_process_on_the_multiprocess_executor_and_on_celery(
    city: Path, tmp_path: Path, redis_url: str
) -> None:
    # the city view does not depend on Great Expectations (its checks only report): skipped
    # alike everywhere, as `hub run --no-gx` and the district steps' validate_with_gx
    no_gx = {"ops": {f"district_{c}": {"config": {"validate_with_gx": False}} for c in DISTRICTS}}
    inproc = _copy(city, tmp_path / "inproc")
    got = hub_cli(["run", "--json", "--no-gx"], inproc / "data", inproc / "schemas")
    assert '"persons"' in got.stdout
    expected = _view(inproc)
    assert expected["city_person"] and expected["city_provenance"]

    multi = _copy(city, tmp_path / "multi")
    plain = multi / "run.yaml"
    plain.write_text(yaml.safe_dump(no_gx), encoding="utf-8")
    log = _dagster_job(multi, "city_run", plain)
    assert "Launching subprocess for" in log  # the multiprocess executor: a process per step
    assert _view(multi) == expected

    celery_root = _copy(city, tmp_path / "celery")
    workers = _workers(celery_root, redis_url, ["330102,330106", "330105"])
    try:
        for proc, log_path in workers:
            wait_for(log_path, "ready.", proc)
        config = celery_root / "run.yaml"
        execution = {"execution": {"config": {"broker": redis_url, "backend": redis_url}}}
        config.write_text(yaml.safe_dump({**execution, **no_gx}), encoding="utf-8")
        _dagster_job(celery_root, "city_run_celery", config)
    finally:
        for proc, _ in workers:
            stop(proc)
    ran = [log_path.read_text(errors="replace") for _, log_path in workers]
    # each district's step ran on the worker holding its files
    assert "Executing steps district_330102" in ran[0] and "district_330106" in ran[0], ran[0]
    assert "Executing steps district_330105" in ran[1], ran[1]
    assert "district_330105" not in ran[0] and "district_330102" not in ran[1]
    assert _view(celery_root) == expected


@pytest.mark.slow
def test_a_resident_of_two_districts_is_one_city_record_with_both_districts_provenance(
    city: Path, tmp_path: Path
) -> None:
    root = _copy(city, tmp_path / "run")
    hub_cli(["run", "--no-gx"], root / "data", root / "schemas")
    truth = _truth(root)
    both = {cid for cid, where in truth.items() if len(where) == 2}
    assert 250 <= len(both) <= 300  # two pairs of neighbouring districts, 150 movers each
    published = root / "data" / "city" / "published"
    with duckdb.connect() as con:
        person = f"({dataset_sql(published, 'city_person')})"
        rows = con.execute(
            f"SELECT citizen_id, person_id, districts, district FROM {person} "
            "WHERE len(districts) > 1"
        ).fetchall()
        assert (
            con.execute(
                f"SELECT count(*) FROM {person} WHERE citizen_id IS NOT NULL AND NOT id_unverified "
                "GROUP BY citizen_id HAVING count(*) > 1"
            ).fetchall()
            == []
        )  # once each
        merged = {cid: (pid, set(ds), home) for cid, pid, ds, home in rows}
        # no false merges, and nearly every mover found (a few only appear with a damaged ID)
        assert set(merged) <= both
        assert len(merged) >= 0.9 * len(both)
        prov = f"({dataset_sql(published, 'city_provenance')})"
        for cid, (pid, districts, home) in merged.items():
            assert districts == set(truth[cid])
            # the district of residence: the one whose 公安 household register lists them
            police = [d for d, sources in truth[cid].items() if "gongan_household" in sources]
            assert [home] == police
            seen = con.execute(
                f"SELECT DISTINCT district FROM {prov} WHERE person_id = ?", [pid]
            ).fetchall()
            assert {d for (d,) in seen} == districts
            # every value the district of residence has is the one chosen
            chosen = con.execute(
                f"SELECT field, bool_or(district = ?) AS home_has, "
                f"arg_max(district, selected) AS chosen FROM {prov} WHERE person_id = ? "
                "GROUP BY field",
                [home, pid],
            ).fetchall()
            assert chosen and all(d == home for _, has, d in chosen if has), chosen
        # where the two districts disagree (their addresses, at least), it is listed, and the
        # district of residence's value stands
        listed = con.execute(
            f"SELECT c.person_id, c.chosen_district, p.district FROM "
            f"({dataset_sql(published, 'city_conflicts')}) c JOIN {person} p USING (person_id)"
        ).fetchall()
        assert all(chosen == home for _, chosen, home in listed)
        # a mover has a home in each district: wherever both districts hold an address, the
        # two differ and are listed
        two_addresses = con.execute(
            f"SELECT person_id FROM {prov} WHERE field = 'current_address' "
            "GROUP BY person_id HAVING count(DISTINCT district) = 2"
        ).fetchall()
        conflicted = con.execute(
            f"SELECT DISTINCT person_id FROM ({dataset_sql(published, 'city_conflicts')}) "
            "WHERE field = 'current_address'"
        ).fetchall()
        assert two_addresses and set(two_addresses) == set(conflicted)


def test_one_district_runs_alone_and_a_row_of_another_districts_community_is_not_loaded(
    city: Path, tmp_path: Path
) -> None:
    root = _copy(city, tmp_path / "one")
    inbox = root / "data" / "districts" / "330102" / "incoming"
    (register,) = inbox.glob("公安_*.csv")
    with register.open(encoding="gb18030", newline="") as fh:
        lines = list(csv.reader(fh))
    header = lines[0]
    rows = []
    # a community of 拱墅区 by its code, by street and name, by district and name
    for i, written in enumerate(["330105001002", "小营街道文苑社区", "拱墅区长庆社区"]):
        row = list(lines[1 + i])
        row[header.index("公民身份号码")] = make_id("330105", date(1980, 5, 17 + i), 123)
        row[header.index("所属社区")] = written
        rows.append(row)
    with register.open("a", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows(rows)

    bad = hub_cli(["run", "--district", "999999"], root / "data", root / "schemas", check=False)
    assert bad.returncode == 2 and "没有区县 999999" in bad.stderr and "330102" in bad.stderr

    hub_cli(["run", "--district", "330102", "--no-gx"], root / "data", root / "schemas")
    districts = root / "data" / "districts"
    assert (districts / "330102" / "published" / "CURRENT.json").exists()
    assert not (districts / "330105" / "published").exists()  # the others did not run
    with duckdb.connect(str(districts / "330102" / "warehouse.duckdb"), read_only=True) as con:
        issues = con.execute(
            "SELECT value, rule, severity, message, column_header FROM quarantine.issues "
            "WHERE value IN ('330105001002', '小营街道文苑社区', '拱墅区长庆社区') ORDER BY value"
        ).fetchall()
        assert issues == [
            (
                written,
                "other_district",
                "error",
                f"「{written}」是本市拱墅区（330105）的社区：这一行由该区县加载，本区不加载",
                "所属社区",
            )
            for written in sorted(["330105001002", "小营街道文苑社区", "拱墅区长庆社区"])
        ]
        assert con.execute(
            "SELECT count(*) FROM core.person WHERE starts_with(citizen_id, '330105198005')"
        ).fetchone() == (0,)


CITY_GRANT = """\
name: city_elderly
department: 民政局
title: 全市高龄居民（拱墅区）
dataset: city_person
share_type: 有条件共享
purpose: 高龄补贴发放核对
fields: [name, citizen_id, gender, birth_date, community_code]
rows:
  jurisdiction: ["330105"]
  population:
    - {age: {min: 80}}
"""


def test_a_grant_of_the_city_view_is_queried_under_the_citys_own_access_log(
    city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _copy(city, tmp_path / "grant")
    (root / "schemas" / "shares").mkdir()
    (root / "schemas" / "shares" / "city_elderly.yaml").write_text(CITY_GRANT, encoding="utf-8")
    data, schemas = root / "data", root / "schemas"
    hub_cli(["run", "--no-gx"], data, schemas)
    published = data / "city" / "published"
    with duckdb.connect() as con:
        expected = con.execute(
            f"SELECT count(*) FROM ({dataset_sql(published, 'city_person')}) "
            "WHERE starts_with(community_code, '330105') "
            "AND birth_date <= current_date - INTERVAL 80 YEAR"
        ).fetchone()
    assert expected is not None and expected[0] > 0

    monkeypatch.setenv("HUB_DISTRICT", "city")
    made = hub_cli(["token", "create", "--department", "民政局", "--name", "核对组"], data, schemas)
    token = next(w for w in made.stdout.split() if w.startswith("hubt_"))
    got = hub_cli(
        [
            "query",
            "SELECT count(*) AS n FROM city_elderly",
            "--token",
            token,
            "--purpose",
            "高龄补贴核对",
            "--format",
            "csv",
        ],
        data,
        schemas,
    )
    assert got.stdout.split() == ["n", str(expected[0])]
    city_log = (data / "city" / "audit" / "access.jsonl").read_text(encoding="utf-8")
    assert "city_elderly" in city_log and "高龄补贴核对" in city_log
    for code in DISTRICTS:  # the districts' own logs never saw it
        log = data / "districts" / code / "audit" / "access.jsonl"
        assert not log.exists() or "city_elderly" not in log.read_text(encoding="utf-8")
    # a district's department grants do not include the city's
    monkeypatch.setenv("HUB_DISTRICT", "330105")
    other = hub_cli(["query", "--as", "民政局"], data, schemas, check=False)
    assert other.returncode != 0 and "没有任何共享授权" in other.stderr


def test_one_broken_district_does_not_stop_the_others_or_the_city_view(
    city: Path, tmp_path: Path
) -> None:
    root = _copy(city, tmp_path / "broken")
    data, schemas = root / "data", root / "schemas"
    tree = schemas / "districts" / "330102" / "orgunits.yaml"  # the first district
    tree.write_text("district: {code: '330102'\n", encoding="utf-8")  # a broken YAML
    got = hub_cli(["run", "--no-gx", "--json"], data, schemas, check=False)
    assert got.returncode == 1
    doc = json.loads(got.stdout)
    assert sorted(doc["districts"]) == ["330105", "330106"]
    assert "330102" in doc["failed"] and "orgunits.yaml" in doc["failed"]["330102"]
    assert doc["city"]["persons"] > 0 and doc["city"]["missing"] == ["330102"]
    # Dagster still loads the city: the broken district fails as its own step
    from pipelines.definitions import build_definitions

    defs = build_definitions(schemas, data)
    assert {"city_run", "city_run_celery"} <= {j.name for j in defs.resolve_all_job_defs()}
    # a command that needs one district says how to name it
    status = hub_cli(["status"], data, schemas, check=False)
    assert status.returncode == 2 and "HUB_DISTRICT" in status.stderr
    # a district whose published release is damaged is left out of the city view, by name
    (data / "districts" / "330105" / "published" / "CURRENT.json").write_text("garbage{")
    built = hub_cli(["city", "build", "--json"], data, schemas)
    city = json.loads(built.stdout)
    assert city["missing"] == ["330102", "330105"] and "330105" in city["unreadable"]
    assert city["persons"] > 0


def test_a_worker_machine_serves_the_queues_of_its_districts(city: Path) -> None:
    data, schemas = city / "data", city / "schemas"
    shown = hub_cli(
        ["city", "worker", "--broker", "redis://10.0.0.5:6379/0", "--districts", "330102，330106",
         "--threads", "2", "--dry-run"],
        data,
        schemas,
    )  # fmt: skip
    line = " ".join(shown.stdout.split())
    assert "-m celery -A pipelines.celery_app worker" in line
    assert "-Q dagster,district_330102,district_330106 --concurrency 1" in line
    bad = hub_cli(["city", "worker", "--broker", "redis://x:1/0", "--districts", "330199"],
                  data, schemas, check=False)  # fmt: skip
    assert bad.returncode == 2 and "没有区县 330199" in bad.stderr
    nobroker = hub_cli(["city", "worker", "--districts", "330102"], data, schemas, check=False)
    assert nobroker.returncode == 2 and "消息代理" in nobroker.stderr


def test_a_registration_that_names_a_district_is_that_districts_alone(
    city: Path, tmp_path: Path
) -> None:
    root = _copy(city, tmp_path / "named")
    path = root / "schemas" / "sources" / "tuiyi_veterans.yaml"
    path.write_text(path.read_text(encoding="utf-8") + 'district: "330105"\n', encoding="utf-8")
    base = Settings(schemas=root / "schemas", data=root / "data")
    own = {code: load_registry(district_settings(base, code).schemas) for code in DISTRICTS}
    assert "tuiyi_veterans" in own["330105"].sources
    assert "tuiyi_veterans" not in own["330102"].sources
    assert "tuiyi_veterans" not in own["330106"].sources
    assert "gongan_household" in own["330102"].sources  # the others are every district's


def test_the_registrations_a_city_refuses(
    city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _copy(city, tmp_path / "refused")
    base = Settings(schemas=root / "schemas", data=root / "data")
    # a grant of the city view in one district's folder would be a city-wide grant
    own = root / "schemas" / "districts" / "330102" / "shares"
    own.mkdir()
    (own / "city_elderly.yaml").write_text(CITY_GRANT, encoding="utf-8")
    with pytest.raises(RegistryError, match="只能写在全市的 schemas/shares/"):
        load_registry(district_settings(base, "330102").schemas)
    assert load_registry(district_settings(base, "330105").schemas).city_shares == {}
    # a registration naming a district the city does not have
    path = root / "schemas" / "sources" / "tuiyi_veterans.yaml"
    path.write_text(path.read_text(encoding="utf-8") + 'district: "330199"\n', encoding="utf-8")
    with pytest.raises(RegistryError, match="330199 不是本部署的区县"):
        load_registry(district_settings(base, "330105").schemas)
    # whole-city commands refuse a district or the city view
    data, schemas = root / "data", root / "schemas"
    for scope, args in (("city", ["run"]), ("330105", ["city", "build"])):
        monkeypatch.setenv("HUB_DISTRICT", scope)
        got = hub_cli(args, data, schemas, check=False)
        assert got.returncode == 2 and "HUB_DISTRICT" in got.stderr, got.stderr


@pytest.mark.slow
def test_a_district_partition_materializes_that_district_alone(city: Path, tmp_path: Path) -> None:
    """The district assets in Dagster are partitioned by district: a run of one partition loads,
    stages, links and publishes that district only."""
    from pipelines.definitions import build_definitions

    root = _copy(city, tmp_path / "partition")
    data, schemas = root / "data", root / "schemas"
    defs = build_definitions(schemas, data)
    job = defs.resolve_job_def("refresh_district")
    assert sorted(job.partitions_def.get_partition_keys()) == DISTRICTS  # type: ignore[union-attr]
    result = job.execute_in_process(partition_key="330105")
    assert result.success
    districts = data / "districts"
    assert (districts / "330105" / "published" / "CURRENT.json").exists()
    assert not (districts / "330102" / "published").exists()
    with duckdb.connect() as con:
        persons = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT starts_with(community_code, '330105')) "
            f"FROM ({dataset_sql(districts / '330105' / 'published', 'person')})"
        ).fetchone()
    assert persons is not None and persons[0] >= 500 and persons[1] == 0
