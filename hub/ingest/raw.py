"""Load department files into the raw layer: every cell as text, plus where it came from."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from hub.ingest.batches import batch_id, ensure_tables, known
from hub.ingest.drift import Drift, detect_drift
from hub.ingest.holds import ACTIVE, HELD, hold_reason
from hub.ingest.period import Period, reporting_period
from hub.ingest.read import SOURCE_ROW, FileTable, ReadError, read_file
from hub.ingest.rejected import set_aside
from hub.registry.loader import Registry
from hub.registry.models import HeaderSpec, Source
from hub.warehouse import q, table_columns, table_exists

log = logging.getLogger(__name__)
META = ("_batch_id", "_source_row", "_file_name", "_file_sha256", "_loaded_at")


@dataclass
class LoadResult:
    """What happened to one file; `status` is loaded | held | duplicate | rejected | unmatched."""

    file: str
    status: str
    source: str | None = None
    batch_id: str | None = None
    rows: int = 0
    message: str = ""
    notes: list[str] = field(default_factory=list)


def match_source(registry: Registry, file_name: str) -> Source | None:
    for src in registry.sources.values():
        if any(fnmatch.fnmatch(file_name, pat) for pat in src.file_pattern):
            return src
    return None


# Files read at once on threads: the readers (calamine, pyarrow's CSV parser, the decoders)
# let go of the GIL, so a district's files take about half the time read side by side; a
# file is read ahead only while the bytes in flight stay under READ_AHEAD_BYTES (a city's
# roster of a million rows is read alone).
READ_THREADS = 2
READ_AHEAD_BYTES = 256 * 2**20


def load_incoming(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    incoming: Path,
    archive: Path,
    only: str | None = None,
    threads: int = READ_THREADS,
) -> list[LoadResult]:
    """Load every file in `incoming` that belongs to a registered source (or only to `only`).
    Files are read ahead on up to `threads` threads (see `_read_ahead`) and stored one by
    one, in name order."""
    ensure_tables(con)
    results: list[LoadResult] = []
    todo: list[tuple[Source, Path]] = []
    for path in sorted(p for p in incoming.iterdir() if p.is_file() and not p.name.startswith(".")):
        src = match_source(registry, path.name)
        if src is None:
            if only is None:
                results.append(
                    LoadResult(path.name, "unmatched", message="没有登记的来源匹配此文件名")
                )
            continue
        if only is not None and src.name != only:
            continue
        if src.channel == "form":  # templates: only their changes, through hub.form
            continue
        todo.append((src, path))
    # files already loaded are hashed but not parsed again (the same roster sent twice)
    seen = set(con.execute("SELECT source, sha256 FROM raw._batches").fetchall())
    reads = _read_ahead(registry, todo, threads, seen)
    for (src, path), read in zip(todo, reads, strict=True):
        results.append(_load_read(con, registry, src, path, archive, read))
    return results


@dataclass
class _Read:
    data: bytes
    sha: str
    table: FileTable | None = None
    error: str | None = None


def _read_ahead(
    registry: Registry,
    todo: list[tuple[Source, Path]],
    threads: int = READ_THREADS,
    seen: set[tuple[str, str]] | None = None,
) -> Iterator[_Read]:
    """Each file of `todo` read, in order; later files are read while earlier ones are
    stored."""
    known = seen or set()
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="hub-read") as pool:
        pending: deque[tuple[int, Future[_Read]]] = deque()
        nxt = 0
        while nxt < len(todo) or pending:
            while nxt < len(todo):
                size = _size(todo[nxt][1])
                if pending and sum(s for s, _ in pending) + size > READ_AHEAD_BYTES:
                    break
                pending.append((size, pool.submit(_read, registry, *todo[nxt], known)))
                nxt += 1
            yield pending.popleft()[1].result()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read(registry: Registry, src: Source, path: Path, seen: set[tuple[str, str]]) -> _Read:
    data = path.read_bytes()
    out = _Read(data, hashlib.sha256(data).hexdigest())
    if (src.name, out.sha) in seen:
        return out  # loaded before: `_load_read` says so without the rows
    header = src.header if isinstance(src.header, HeaderSpec) else None
    expected = [h for c in src.columns for h in (c.header, *c.former_headers)]
    try:
        out.table = read_file(
            path,
            data,
            fmt=src.format,
            encoding=src.encoding,
            sheet=src.sheet,
            header=header,
            expected=expected,
            limits=registry.limits,
        )
    except ReadError as exc:
        out.error = str(exc)
    return out


def _load_read(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    src: Source,
    path: Path,
    archive: Path,
    read: _Read,
) -> LoadResult:
    """Load one file as a new batch of `src`. The same bytes twice is a no-op."""
    sha = read.sha
    if known(con, src.name, sha):
        path.unlink()  # identical bytes are already archived; nothing is lost
        return LoadResult(
            path.name,
            "duplicate",
            src.name,
            batch_id(src.name, sha),
            message="该文件已加载过，跳过",
        )
    if read.error is not None or read.table is None:
        return _reject(con, src, path, sha, read.error or "")
    ft = read.table
    drift = detect_drift(src, ft, registry)
    if drift.missing_required:
        return _reject(con, src, path, sha, drift.notes[-1], [*ft.notes, *drift.notes[:-1]])
    return _store(
        con, src, path, read.data, sha, ft, archive, drift, registry.limits.roster_min_share
    )


def _reject(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    path: Path,
    sha: str,
    message: str,
    notes: list[str] | None = None,
) -> LoadResult:
    """The file is set aside in `rejected/` beside its reason (nothing lost, not retried at
    every run); the rejection is recorded. A corrected file sent again loads."""
    con.execute(
        "INSERT INTO raw._rejections VALUES (?, ?, ?, ?, ?)",
        [path.name, sha, src.name, message, datetime.now()],
    )
    kept = set_aside(path, message)
    message += f"（文件已移到 {kept.parent.name}/{kept.name}，改正后重新放入待加载目录即可）"
    return LoadResult(path.name, "rejected", src.name, message=message, notes=notes or [])


def _store(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    path: Path,
    data: bytes,
    sha: str,
    ft: FileTable,
    archive: Path,
    drift: Drift,
    min_share: float,
) -> LoadResult:
    stored = _archive(path.name, data, sha, archive / src.name)
    result = _record(con, src, path.name, sha, ft, stored, drift, min_share=min_share)
    path.unlink()
    return result


def store_table(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    name: str,
    data: bytes,
    table: pa.Table,
    archive: Path,
    observed: date | None = None,
) -> LoadResult:
    """Load rows that did not come as a file (form submissions) as a batch of `src`: `data`
    is what gets archived and hashed, so the same rows twice are a no-op too."""
    ensure_tables(con)
    sha = hashlib.sha256(data).hexdigest()
    if known(con, src.name, sha):
        return LoadResult(
            name, "duplicate", src.name, batch_id(src.name, sha), message="已加载过，跳过"
        )
    headers = table.column_names
    rows = pa.array(range(1, table.num_rows + 1), pa.int32())
    ft = FileTable(table.append_column(SOURCE_ROW, rows), headers, "utf-8", None, HeaderSpec(row=1))
    stored = _archive(name, data, sha, archive / src.name)
    return _record(con, src, name, sha, ft, stored, Drift(), observed)


def _record(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    file_name: str,
    sha: str,
    ft: FileTable,
    stored: Path,
    drift: Drift,
    observed: date | None = None,
    min_share: float = 0.0,
) -> LoadResult:
    """Append the rows and their batch in one transaction (a short full roster held)."""
    bid = batch_id(src.name, sha)
    now = datetime.now().replace(microsecond=0)
    table = ft.table.rename_columns([*ft.headers, SOURCE_ROW])
    n = table.num_rows
    meta = {"_batch_id": bid, "_file_name": file_name, "_file_sha256": sha, "_loaded_at": now}
    period = None if observed else _period(con, src, file_name, ft, now.date())
    said = [period.note] if period and period.note else []
    notes = [*ft.notes, *drift.notes, *_layout_notes(ft), *said]
    held = hold_reason(con, src, n, min_share) if min_share else None
    batch = {
        "batch_id": bid,
        "source": src.name,
        "file_name": file_name,
        "sha256": sha,
        "rows": n,
        "encoding": ft.encoding,
        "sheet": ft.sheet,
        "header_row": ft.header.row,
        "header_rows": ft.header.rows,
        "headers": ft.headers,
        "footer_rows": ft.dropped_footer,
        "blank_rows": ft.blank_rows,
        "unregistered_columns": [h for h in drift.added if h not in drift.renamed.values()],
        "missing_columns": drift.missing,
        "observed_at": observed or (period.day if period else now.date()),
        "loaded_at": now,
        "archive_path": str(stored),
        "renamed_columns": [{"registered": k, "in_file": v} for k, v in drift.renamed.items()],
        "notes": notes,
        "status": HELD if held else ACTIVE,
        "status_reason": held,
    }
    con.execute("BEGIN TRANSACTION")
    try:
        _append(con, src.name, table, ft.headers, meta)
        con.execute(
            f"INSERT INTO raw._batches BY NAME SELECT {', '.join(f'? AS {k}' for k in batch)}",
            list(batch.values()),
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if held:
        return LoadResult(file_name, "held", src.name, bid, n, f"已载入 {n} 行，{held}", notes)
    return LoadResult(file_name, "loaded", src.name, bid, n, f"已加载 {n} 行", notes)


def _period(
    con: duckdb.DuckDBPyConnection, src: Source, file_name: str, ft: FileTable, today: date
) -> Period:
    """The batch's reporting period (hub.ingest.period); a date column the registration
    names is read in DuckDB, over the rows as loaded."""
    column = None
    if src.period_column and src.period_column in ft.headers:
        con.register("_period_rows", ft.table)
        column = (con, "_period_rows", src.period_column)
    try:
        found = reporting_period(file_name, ft.title, today, src.as_of, column)
    finally:
        if column:
            con.unregister("_period_rows")
    return found


def _append(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: pa.Table,
    headers: list[str],
    meta: dict[str, object],
) -> None:
    """Append by column name; a header never seen before becomes a new text column.

    The batch's constants (`meta`) are added by DuckDB rather than built as Python lists.
    """
    con.register("_incoming_rows", table)
    try:
        if not table_exists(con, "raw", source):
            cols = ", ".join(
                [
                    f"{q(m)} {'INTEGER' if m == SOURCE_ROW else 'TIMESTAMP' if m == '_loaded_at' else 'VARCHAR'}"
                    for m in META
                ]
                + [f"{q(h)} VARCHAR" for h in headers]
            )
            con.execute(f"CREATE TABLE raw.{q(source)} ({cols})")
        have = set(table_columns(con, "raw", source))
        for h in headers:
            if h not in have:
                con.execute(f"ALTER TABLE raw.{q(source)} ADD COLUMN {q(h)} VARCHAR")
        consts = ", ".join(
            f"?::{'TIMESTAMP' if k == '_loaded_at' else 'VARCHAR'} AS {q(k)}" for k in meta
        )
        con.execute(
            f"INSERT INTO raw.{q(source)} BY NAME SELECT *, {consts} FROM _incoming_rows",
            list(meta.values()),
        )
    finally:
        con.unregister("_incoming_rows")


def _archive(name: str, data: bytes, sha: str, folder: Path) -> Path:
    """Keep the original unchanged; written to a temp name first so a crash leaves no half file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha[:12]}_{name}"
    if not target.exists():
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def _layout_notes(ft: FileTable) -> list[str]:
    notes = ["文件只有表头，没有数据行：表头已登记，加载 0 行"] if ft.table.num_rows == 0 else []
    if ft.dropped_footer:
        notes.append(
            f"表尾行已跳过（第 {'、'.join(map(str, ft.dropped_footer))} 行：合计/填表人等）"
        )
    if ft.blank_rows:
        notes.append(f"空行 {ft.blank_rows} 行已跳过")
    return notes
