"""`hub bench districts`: a generated city's districts run by Dagster's `city_run` job on 1, 2 …
workers — real Celery workers over a redis-server started here on 127.0.0.1, or the
multiprocess executor where no redis-server is installed (the JSON says which).

Every run starts from a copy of the same generated city (the same keys, so the same ids): the
city view of each run is compared by content with the one-worker run. Workers on this one
machine share it: each is held to cores / workers threads and its share of memory (HUB_THREADS,
HUB_MEMORY_MB, as a worker machine's settings would).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import duckdb
import yaml

from hub.bench import CITY_LIMITS, hub_command
from hub.city.districts import city_data, district_codes, district_settings
from hub.city.run import LAST_RUN
from hub.city.services import redis, redis_server, stop, wait_for
from hub.city.view import DATASETS, LAST_BUILD
from hub.publish.snapshot import dataset_sql, fingerprint_table
from hub.resources import machine_memory_mb
from hub.settings import Settings

BIN = Path(sys.executable).parent
Say = Callable[[str], None]


def run_districts_bench(
    schemas: Path,
    districts: int,
    per_district: int,
    workers: list[int],
    seed: int = 7,
    progress: Say | None = None,
) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    root = Path(tempfile.mkdtemp(prefix="hub-bench-districts-"))
    try:
        city = _city(schemas, root / "city", districts, per_district, seed, say)
        engine = "celery" if redis_server() else "multiprocess"
        runs: list[dict[str, Any]] = []
        views: dict[int, str] = {}
        for n in sorted(set(workers)):
            say(f"{n} 个工作进程（{engine}）运行 {districts} 个区县…")
            copy = root / f"workers{n}"
            shutil.copytree(city, copy, copy_function=os.link)  # the inputs, not copied twice
            run = _run(copy, engine, n)
            views[n] = run.pop("view")
            runs.append(run)
            shutil.rmtree(copy, ignore_errors=True)
        base = runs[0]
        for run in runs:
            run["speedup"] = round(base["wall_s"] / run["wall_s"], 2)
            run["identical"] = views[run["workers"]] == views[base["workers"]]
            run["estimated_speedup_machine_per_worker"] = _per_machine(base, run["workers"])
        return {
            "engine": engine,
            "districts": districts,
            "residents_per_district": per_district,
            "cores": os.cpu_count(),
            "runs": runs,
            "speedup": runs[-1]["speedup"],
            "identical": all(r["identical"] for r in runs),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _per_machine(base: dict[str, Any], n: int) -> float:
    """The speedup `n` workers would give with a machine each, estimated from the one-worker
    run (each district step had the whole machine): the districts dealt out as the workers
    get them, then the city step and the run's own overhead, which do not shrink."""
    seconds = list(base["district_s"].values())
    fixed = base["wall_s"] - sum(seconds) - base["city_s"]
    longest = max(sum(seconds[i::n]) for i in range(n))
    return round(base["wall_s"] / (longest + base["city_s"] + fixed), 2)


def _city(schemas: Path, root: Path, n: int, per: int, seed: int, say: Say) -> Path:
    """The registrations of `schemas` shared by `n` generated districts, keys made up front."""
    (root / "schemas").mkdir(parents=True)
    shutil.copytree(schemas / "sources", root / "schemas" / "sources")
    (root / "schemas" / "limits.yaml").write_text(yaml.safe_dump(CITY_LIMITS), encoding="utf-8")
    env = {**os.environ, "HUB_SCHEMAS": str(root / "schemas"), "HUB_DATA": str(root / "data")}
    say(f"生成 {n} 个区县、每个 {per:,} 位居民的部门文件…")
    movers = min(per // 100, per // 2)
    hub_command(
        [
            "city",
            "sample",
            "--districts",
            str(n),
            "--residents",
            str(per),
            "--movers",
            str(movers),
            "--seed",
            str(seed),
        ],
        env,
    )
    base = Settings(schemas=root / "schemas", data=root / "data")
    for code in district_codes(base):
        district_settings(base, code).secret()
    Settings(schemas=base.schemas, data=city_data(base)).secret()
    return root


def _run(root: Path, engine: str, workers: int) -> dict[str, Any]:
    """One whole city run on `workers` workers; wall time, each district's run, the city step."""
    cores = os.cpu_count() or 1
    # each worker its share of the machine; the city step, alone after them, all of it
    limits = {
        "HUB_THREADS": str(max(1, cores // workers)),
        "HUB_MEMORY_MB": str(machine_memory_mb() * 2 // 5 // workers),
        "HUB_CITY_THREADS": str(cores),
        "HUB_CITY_MEMORY_MB": str(machine_memory_mb() * 2 // 5),
    }
    env = {
        **os.environ,
        "HUB_SCHEMAS": str(root / "schemas"),
        "HUB_DATA": str(root / "data"),
        "DAGSTER_HOME": str(_dagster_home(root)),
    }
    config = root / "run.yaml"
    if engine == "celery":
        with redis(root) as broker, _workers(root, env, broker, workers, limits):
            config.write_text(
                yaml.safe_dump({"execution": {"config": {"broker": broker, "backend": broker}}})
            )
            wall = _job(env, "city_run_celery", config)
    else:
        config.write_text(yaml.safe_dump({"execution": {"config": {"max_concurrent": workers}}}))
        wall = _job({**env, **limits}, "city_run", config)
    base = Settings(schemas=root / "schemas", data=root / "data")
    per = {
        code: json.loads(
            (district_settings(base, code).data / LAST_RUN).read_text(encoding="utf-8")
        )
        for code in district_codes(base)
    }
    built = json.loads((city_data(base) / LAST_BUILD).read_text(encoding="utf-8"))
    return {
        "workers": workers,
        "threads_per_worker": int(limits["HUB_THREADS"]),
        "city_threads": int(limits["HUB_CITY_THREADS"]),
        "memory_mb_per_worker": int(limits["HUB_MEMORY_MB"]),
        "wall_s": round(wall, 2),
        "district_s": {c: r["seconds"] for c, r in per.items()},
        "district_peak_rss_mb": {c: r["peak_rss_mb"] for c, r in per.items()},
        "persons": sum(r["persons"] or 0 for r in per.values()),
        "city_s": built["seconds"],
        "city_persons": built["persons"],
        "cross_district": built["cross_district"],
        "view": _fingerprint(city_data(base) / "published"),
    }


def _job(env: dict[str, str], job: str, config: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our own interpreter's dagster, fixed arguments
        [
            str(BIN / "dagster"),
            "job",
            "execute",
            "-m",
            "pipelines.definitions",
            "-a",
            "defs",
            "-j",
            job,
            "-c",
            str(config),
        ],
        env=env,
        cwd=_repo(),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0 or "RUN_SUCCESS" not in proc.stdout + proc.stderr:
        raise RuntimeError(f"Dagster 作业 {job} 失败：{(proc.stdout + proc.stderr)[-3000:]}")
    return wall


def _fingerprint(published: Path) -> str:
    """The city view's content, order-free: equal views, equal text."""
    with duckdb.connect() as con:
        parts = []
        for name in DATASETS:
            con.execute(f"CREATE TEMP VIEW {name} AS {dataset_sql(published, name)}")
            parts.append(fingerprint_table(con, name))
    return json.dumps(parts)


def _repo() -> Path:
    """The folder holding the `pipelines` package (the Dagster code location)."""
    spec = find_spec("pipelines")
    if spec is None or spec.origin is None:
        raise RuntimeError("找不到 pipelines 包（Dagster 代码位置）：请在仓库中安装本项目")
    return Path(spec.origin).parent.parent


def _dagster_home(root: Path) -> Path:
    home = root / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copy(_repo() / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


@contextmanager
def _workers(
    root: Path, env: dict[str, str], broker: str, n: int, limits: dict[str, str]
) -> Iterator[None]:
    """`n` workers started as worker machines are (`hub city worker`), the districts dealt
    out among them (each worker holds its districts' files), each held to `limits`."""
    codes = district_codes(Settings(schemas=root / "schemas", data=root / "data"))
    procs = []
    try:
        for i in range(n):
            log = root / f"worker{i + 1}.log"
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter's hub, fixed arguments
                        [
                            sys.executable,
                            "-m",
                            "hub",
                            "city",
                            "worker",
                            "--broker",
                            broker,
                            "--districts",
                            ",".join(codes[i::n]),
                            "--name",
                            f"bench{i + 1}",
                            "--threads",
                            limits["HUB_THREADS"],
                            "--memory-mb",
                            limits["HUB_MEMORY_MB"],
                        ],
                        env={
                            **env,
                            **{k: v for k, v in limits.items() if k.startswith("HUB_CITY_")},
                        },
                        cwd=_repo(),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            wait_for(log, "ready.", procs[-1])
        yield
    finally:
        for proc in procs:
            stop(proc)
