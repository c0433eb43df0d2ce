"""`hub bench`: the whole pipeline on N residents' files against DuckDB reading the same files.

The pipeline runs in its own process (as `hub run --json`) so its peak memory and wall time
are its own, imports and all. The baseline reads each file into Parquet with no processing:
DuckDB's CSV reader for UTF-8 files, after a plain transcode for GB18030 (DuckDB cannot read
it without a downloaded extension), and the fastexcel reader for XLSX (DuckDB's Excel support
is also a download).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import yaml

from hub.ingest.encoding import SNIFF_BYTES, detect_encoding
from hub.warehouse import lit

# a city's registers are bigger than a district's: the bench district allows files of them
CITY_LIMITS = {"file_mb": 2048, "rows": 5_000_000, "cells": 150_000_000, "sheet_xml_mb": 2048}


def bench_schemas(schemas: Path, root: Path) -> Path:
    """The registries with the file limits a city sets in its own limits.yaml."""
    from hub.registry.files import copy_defaults

    target = root / "schemas"
    if not target.exists():
        shutil.copytree(schemas, target)
        copy_defaults(target)
        path = target / "limits.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        path.write_text(yaml.safe_dump({**doc, **CITY_LIMITS}), encoding="utf-8")
    return target


def run_bench(
    schemas: Path,
    residents: int,
    seed: int,
    workdir: Path | None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    own_tmp = workdir is None
    root = Path(tempfile.mkdtemp(prefix="hub-bench-")) if workdir is None else workdir
    try:
        data = root / "data"
        city = bench_schemas(schemas, root)
        env = {**os.environ, "HUB_DATA": str(data), "HUB_SCHEMAS": str(city)}
        say(f"生成 {residents} 位居民的部门文件…")
        t = time.perf_counter()
        hub_command(["sample", "--residents", str(residents), "--seed", str(seed)], env)
        generate_s = time.perf_counter() - t
        files = sorted((data / "incoming").iterdir())
        say("DuckDB 直接读取基线（3 次取中位数）…")
        raw_read_s = statistics.median(raw_read(files, root / f"baseline{i}") for i in range(3))
        say("运行完整流程…")
        t = time.perf_counter()
        run = json.loads(hub_command(["run", "--json"], env))
        total_s = time.perf_counter() - t
        source_rows = sum(r["rows"] for r in run["loads"])
        return {
            "residents": residents,
            "files": len(files),
            "input_mb": round(
                sum(f.stat().st_size for f in (data / "archive").rglob("*") if f.is_file()) / 2**20,
                1,
            ),
            "source_rows": source_rows,
            "persons": run["core"]["persons"] if run["core"] else 0,
            "quarantined": sum(s["quarantined"] for s in run["stages"]),
            "generate_s": round(generate_s, 2),
            "stage_s": run["seconds"],
            "stage_peak_mb": run["peak_mb"],
            "total_s": round(total_s, 2),
            "rows_per_s": round(source_rows / total_s),
            "peak_rss_mb": run["peak_rss_mb"],
            "raw_read_s": round(raw_read_s, 3),
            "ratio": round(total_s / raw_read_s, 2),
        }
    finally:
        if own_tmp:
            shutil.rmtree(root, ignore_errors=True)


def run_scale_bench(
    schemas: Path,
    sizes: list[int],
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """`run_bench` at each size; growth of time and memory from the smallest to the largest
    (near-linear time: time_growth close to the growth of the rows)."""
    say = progress or (lambda _m: None)
    runs = []
    for n in sorted(sizes):
        say(f"规模 {n} 位居民…")
        runs.append(run_bench(schemas, n, seed, None, progress))
    small, large = runs[0], runs[-1]
    return {
        "sizes": [r["residents"] for r in runs],
        "runs": runs,
        "rows_growth": round(large["source_rows"] / max(1, small["source_rows"]), 2),
        "time_growth": round(large["total_s"] / small["total_s"], 2),
        "memory_growth": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
        "rows_per_s": [r["rows_per_s"] for r in runs],
    }


def run_incremental_bench(
    schemas: Path,
    residents: int,
    seed: int,
    form_edits: int = 500,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """A full load of N residents, then a month: the 低保 roster's next full snapshot (5% of
    rows changed, 1% new residents, 1% gone), then a form batch of `form_edits` edits. Each
    incremental run is timed against the full load, and the result compared by content
    (ids included) with `hub run --full` on a copy."""

    say = progress or (lambda _m: None)
    root = Path(tempfile.mkdtemp(prefix="hub-bench-incr-"))
    try:
        data = root / "data"
        env = {
            **os.environ,
            "HUB_DATA": str(data),
            "HUB_SCHEMAS": str(bench_schemas(schemas, root)),
        }
        say(f"生成 {residents} 位居民的部门文件…")
        hub_command(["sample", "--residents", str(residents), "--seed", str(seed)], env)
        say("首次全量加载…")
        full_s, full = _timed_run(["run", "--json"], env)
        return {
            "residents": residents,
            "source_rows": sum(r["rows"] for r in full["loads"]),
            "full_s": round(full_s, 2),
            "full_peak_rss_mb": full["peak_rss_mb"],
            **next_month(root, env, seed, form_edits, full_s, say),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def next_month(
    root: Path,
    env: dict[str, str],
    seed: int,
    form_edits: int,
    full_s: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """The month after a full load under `root`: its runs timed, and compared with a full
    rebuild."""
    from hub.compare import differences
    from hub.form.submissions import Submission, append
    from hub.publish.snapshot import dataset_sql
    from hub.sample.next_month import next_month_xlsx

    data = root / "data"
    say("下个月的低保名册（全量名册）…")
    roster = next(p for p in (data / "archive").rglob("*.xlsx") if "低保" in p.name)
    _, month = next_month_xlsx(roster, data / "incoming", "202511", seed=seed)
    month_s, month_run = _timed_run(["run", "--json"], env)
    say(f"{form_edits} 条社区表单修改…")
    people = (
        duckdb.connect()
        .execute(
            f"SELECT person_id, community_code, name, citizen_id FROM ({dataset_sql(data / 'published', 'person')}) "
            "WHERE community_code IS NOT NULL AND citizen_id IS NOT NULL "
            f"ORDER BY hash(person_id) LIMIT {int(form_edits)}"
        )
        .fetchall()
    )
    for i, (pid, comm, name, cid) in enumerate(people):
        values = {"name": name, "citizen_id": cid, "phone": f"13{i:09d}"}
        append(data / "submissions", Submission("bench", comm, values, pid, changed=["phone"]))
    form_s, form_run = _timed_run(["run", "--json"], env)
    say("全量重建（hub run --full，副本上）以比较结果…")
    copy = root / "rebuilt"
    shutil.copytree(data, copy / "data")
    rebuild_s, _ = _timed_run(["run", "--full", "--json"], {**env, "HUB_DATA": str(copy / "data")})
    differ = differences(data, copy / "data")
    return {
        "month": month.__dict__,
        "incremental_s": round(month_s, 2),
        "ratio": round(month_s / full_s, 3),
        "incremental_stage_s": month_run["seconds"],
        "persons_touched": month_run["core"]["touched"],
        "nodes_scored": month_run["link"]["fresh"],
        "form_edits": len(people),
        "form_s": round(form_s, 2),
        "form_ratio": round(form_s / full_s, 3),
        "form_stage_s": form_run["seconds"],
        "form_persons_touched": form_run["core"]["touched"],
        "rebuild_s": round(rebuild_s, 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in (month_run, form_run)),
        "identical": not differ,
        "differences": differ,
    }


def _timed_run(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    t = time.perf_counter()
    doc = json.loads(hub_command(args, env))
    return time.perf_counter() - t, doc


def run_suggest_bench(
    schemas: Path, rows: int, seed: int, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Seconds for `hub source suggest --json` (the whole command) on generated exports: the
    household roster (GB18030 CSV, one row per resident) and the pension roster (XLSX)."""
    say = progress or (lambda _m: None)
    root = Path(tempfile.mkdtemp(prefix="hub-bench-suggest-"))
    try:
        env = {**os.environ, "HUB_DATA": str(root / "data"), "HUB_SCHEMAS": str(schemas.resolve())}
        say(f"生成 {rows} 位居民的部门文件…")
        hub_command(["sample", "--residents", str(rows), "--seed", str(seed)], env)
        out: dict[str, Any] = {"rows_requested": rows, "files": []}
        for prefix in ("公安_", "人社_"):
            f = next((root / "data" / "incoming").glob(f"{prefix}*"))
            say(f"分析 {f.name}…")
            t = time.perf_counter()
            doc = json.loads(hub_command(["source", "suggest", "--json", str(f)], env))
            seconds = time.perf_counter() - t
            out["files"].append(
                {
                    "file": f.name,
                    "mb": round(f.stat().st_size / 2**20, 1),
                    "columns": len(doc["columns"]),
                    "mapped": sum(1 for c in doc["columns"] if c["field"]),
                    "seconds": round(seconds, 2),
                }
            )
        out["max_seconds"] = max(f["seconds"] for f in out["files"])
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def raw_read(files: list[Path], out: Path) -> float:
    """Seconds for DuckDB to read `files` into Parquet with no processing at all."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    t = time.perf_counter()
    for i, f in enumerate(files):
        target = lit(str(out / f"{i}.parquet"))
        if f.suffix == ".xlsx":
            import fastexcel

            table = (
                fastexcel.read_excel(str(f))
                .load_sheet(0, header_row=None, dtypes="string")
                .to_arrow()
            )
            con.register("_x", table)
            con.execute(f"COPY _x TO {target} (FORMAT parquet)")
            con.unregister("_x")
            continue
        path = f
        data = f.read_bytes()
        if detect_encoding(data[:SNIFF_BYTES], complete=False) not in ("utf-8", "utf-8-sig"):
            path = out / f"{i}.utf8.csv"
            path.write_bytes(data.decode("gb18030").encode("utf-8"))
        con.execute(
            f"COPY (SELECT * FROM read_csv({lit(str(path))}, all_varchar = true, header = false, "
            f"null_padding = true, strict_mode = false)) TO {target} (FORMAT parquet)"
        )
    return time.perf_counter() - t


def hub_command(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(  # noqa: S603 - our own interpreter and command, fixed arguments
        [sys.executable, "-m", "hub", *args], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"hub {' '.join(args)} 失败：{proc.stderr[-2000:]}")
    return proc.stdout
