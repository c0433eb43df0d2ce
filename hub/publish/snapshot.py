"""Publish core tables as versioned Parquet; readers follow `published/CURRENT.json`.

Layout:
    published/<dataset>/<version>/data.parquet   immutable, <version> = <UTC time>-<sha12>
    published/<dataset>/<version>/seg-*.parquet  the person datasets: a base and deltas
                                                 (hub.publish.segments); read via `dataset_sql`
    published/releases/<n>.json                  which version of each dataset a release holds
    published/CURRENT.json                       the release readers see, replaced atomically

A dataset whose content is unchanged keeps its version; if no dataset changed no release is
made, so re-running the pipeline on the same inputs publishes nothing new. "Unchanged" is
decided by a content fingerprint computed in DuckDB (order-independent, so the table need not
be sorted to compare it), before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from hub.atomic import write_json
from hub.publish import segments
from hub.publish.versions import new_version, seal
from hub.publish.versions import read_manifest as _manifest
from hub.warehouse import lit

# dataset -> (table, sort order of its file): sorted by the key readers look up, so Parquet
# row-group statistics let a lookup skip most of the file
DATASETS = {
    "person": ("core.person", "person_id"),
    # read whole, never looked up: sorting its tens of millions of rows would cost more than
    # writing them
    "provenance": ("core.provenance", ""),
    "conflicts": ("core.conflicts", "person_id, field"),
}
# published as a base and deltas (hub.publish.segments): a run writes the persons it touched
SEGMENTED = frozenset(DATASETS)


@dataclass
class PublishResult:
    release: int
    changed: list[str]
    versions: dict[str, str]


def publish(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    datasets: dict[str, tuple[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    rows_of: dict[str, segments.RowsOf] | None = None,
) -> PublishResult:
    """Write a snapshot of each dataset and switch CURRENT.json to a release holding them;
    `extra` goes into a new release's manifest (the access log's head, say); `rows_of`
    reads some persons' rows of a person dataset (see `segments.write`)."""
    datasets = datasets or DATASETS
    root.mkdir(parents=True, exist_ok=True)
    sweep(root, list(datasets))
    current = read_current(root)
    old = current["datasets"] if current else {}
    versions: dict[str, str] = {}
    changed = []
    for name, (table, order) in datasets.items():
        if name in SEGMENTED:
            of = (rows_of or {}).get(name)
            version = segments.write(con, root / name, table, order, old.get(name), of)
        else:
            version = _snapshot(con, root / name, table, order, old.get(name))
        versions[name] = version
        if version != old.get(name):
            changed.append(name)
    if current and not changed:
        # the release holds this warehouse's content: the next run writes deltas on it (a
        # rebuild that changed nothing must not leave the next month to rewrite every part)
        segments.remember(con, versions)
        return PublishResult(current["release"], [], versions)
    release = (current["release"] + 1) if current else 1
    doc = {"release": release, "published_at": _now(), "datasets": versions, **(extra or {})}
    _atomic_write(root / "releases" / f"{release:05d}.json", doc)
    _atomic_write(root / "CURRENT.json", doc)
    segments.remember(con, versions)
    return PublishResult(release, changed, versions)


def read_current(root: Path) -> dict[str, Any] | None:
    path = root / "CURRENT.json"
    if not path.exists():
        return None
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def dataset_path(root: Path, dataset: str, release: dict[str, Any] | None = None) -> Path:
    """The Parquet file of `dataset` in `release` (default: the current one): a dataset
    published whole in one file (a person dataset is read with `dataset_sql`)."""
    folder = _version_folder(root, dataset, release)
    if not (folder / "data.parquet").exists():
        raise ValueError(f"数据集 {dataset} 分段发布，请用 dataset_sql 读取")
    return folder / "data.parquet"


def dataset_sql(root: Path, dataset: str, release: dict[str, Any] | None = None) -> str:
    """A SELECT of the rows of `dataset` in `release` (default: the current one), whatever
    its layout; readers put it in parentheses where a table would go."""
    folder = _version_folder(root, dataset, release)
    manifest = _manifest(folder)
    if manifest.get("layout") == segments.LAYOUT:
        return segments.reader_sql(folder, manifest)
    return f"SELECT * FROM read_parquet({lit(str(folder / 'data.parquet'))})"


def dataset_files(root: Path, dataset: str, release: dict[str, Any] | None = None) -> list[Path]:
    """The data files of `dataset` in `release` (default: the current one)."""
    folder = _version_folder(root, dataset, release)
    manifest = _manifest(folder)
    if manifest.get("layout") == segments.LAYOUT:
        return segments.files(folder, manifest)
    return [folder / "data.parquet"]


def _version_folder(root: Path, dataset: str, release: dict[str, Any] | None) -> Path:
    doc = release or read_current(root)
    if not doc or dataset not in doc["datasets"]:
        raise FileNotFoundError(f"尚未发布数据集 {dataset}")
    return root / dataset / doc["datasets"][dataset]


def sweep(root: Path, datasets: list[str]) -> list[Path]:
    """Remove what a killed publish left in the folders of `datasets` and of every released
    dataset: `.tmp-` folders, and versions no release names (written, but the release that
    would have held them never was). Publishing runs under the run lock: nobody else writes."""
    named: dict[str, set[str]] = {d: set() for d in datasets}
    for path in (root / "releases").glob("*.json"):
        for d, v in json.loads(path.read_text(encoding="utf-8"))["datasets"].items():
            named.setdefault(d, set()).add(v)
    gone = []
    for dataset, versions in named.items():
        folder = root / dataset
        if not folder.is_dir():
            continue
        for version in folder.iterdir():
            if version.is_dir() and version.name not in versions:
                shutil.rmtree(version, ignore_errors=True)
                gone.append(version)
    return gone


def rollback(root: Path) -> dict[str, Any]:
    """Point CURRENT.json back at the previous release (the files were never removed)."""
    current = read_current(root)
    if not current or current["release"] <= 1:
        raise ValueError("没有可回退的上一个发布版本")
    prev_path = root / "releases" / f"{current['release'] - 1:05d}.json"
    prev = json.loads(prev_path.read_text(encoding="utf-8"))
    _atomic_write(root / "CURRENT.json", prev)
    return dict(prev)


def _snapshot(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    table: str,
    order: str,
    current_version: str | None,
) -> str:
    rows, fingerprint = fingerprint_table(con, table)
    if current_version and _manifest(folder / current_version).get("fingerprint") == fingerprint:
        return current_version
    with new_version(folder) as tmp:
        target = tmp / "data.parquet"
        segments.write_parquet(con, f"SELECT * FROM {table}", order, target)
        manifest = {
            "table": table,
            "rows": rows,
            "fingerprint": fingerprint,
            "sha256": _file_sha256(target),
            "created_at": _now(),
        }
        return seal(tmp, folder, manifest)


def fingerprint_table(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """(rows, fingerprint): the same columns and rows, in any order, give the same fingerprint.

    A sum (not xor) of row hashes, so two identical rows do not cancel out.
    """
    rows, total = con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM {table} t"
    ).fetchall()[0]
    shape = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
    digest = hashlib.sha256(f"{table}:{shape}:{rows}:{total}".encode()).hexdigest()
    return int(rows), digest


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, doc: dict[str, Any]) -> None:
    write_json(path, doc, indent=2)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
