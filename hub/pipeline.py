"""The whole flow in one process: incoming -> raw -> staged -> validated -> linked -> core ->
published.

`hub run` calls this; the Dagster assets in `pipelines/` call the same step functions.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

import duckdb

from hub.core.changes import published
from hub.core.golden import CHOICE, CoreResult, build_core, held, provenance_sql, rows_of
from hub.core.observations import ROWS, observed_fields
from hub.form.corrections import accepted as accepted_corrections
from hub.form.incoming import import_incoming_templates
from hub.form.status import DATASET as FORM_DATASET
from hub.form.status import TABLE as FORM_TABLE
from hub.form.status import build_form_status
from hub.form.submissions import load_submissions
from hub.ingest.holds import HELD, Batch, batches
from hub.ingest.raw import LoadResult, load_incoming
from hub.link.run import LinkResult, link
from hub.memory import RssSampler
from hub.normalize.stage import StageResult, prepare_staging, stage_source
from hub.publish.guards import publish_guards
from hub.publish.snapshot import DATASETS, PublishResult, publish
from hub.registry.loader import Registry
from hub.run_lock import run_lock
from hub.settings import Settings
from hub.share.audit import head as audit_head
from hub.share.tables import build_share_views
from hub.validate.gx_process import GxProcess
from hub.validate.gx_session import pending, store_results, suite_input, summary_dicts
from hub.validate.quality_page import write_quality_page
from hub.validate.staged_checks import CheckOutcome, run_checks
from hub.warehouse import (
    compact,
    cursor,
    drop_derived,
    release_cache,
    table_exists,
    warehouse,
)

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass
class RunSummary:
    loads: list[LoadResult] = field(default_factory=list)
    stages: list[StageResult] = field(default_factory=list)
    checks: dict[str, list[CheckOutcome]] = field(default_factory=dict)
    expectations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    link: LinkResult | None = None
    core: CoreResult | None = None
    published: PublishResult | None = None
    blocked: list[str] = field(default_factory=list)
    held: list[Batch] = field(default_factory=list)  # batches waiting for the data team
    seconds: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)  # sampled RSS, per stage


def run_pipeline(
    settings: Settings,
    registry: Registry,
    progress: Progress | None = None,
    validate_with_gx: bool = True,
    full: bool = False,
) -> RunSummary:
    """Run every step; publishing is skipped (and `blocked` says why) if a guard fails.
    A run redoes only what is new since the last; `full` rebuilds everything from raw.

    `progress` is called once per step, `step_count(...)` times in all.
    """
    settings.ensure()
    # what is loaded so far (modules, registries) lives as long as the run: full collections
    # need not walk it again and again (given back to the collector after the run, for a
    # process that runs the pipeline more than once)
    gc.freeze()
    say = progress or (lambda _msg: None)
    out = RunSummary()
    sampler = RssSampler()
    try:
        _run(settings, registry, out, say, validate_with_gx, sampler, full)
    finally:
        out.peak_mb = sampler.stop()
        gc.unfreeze()
    return out


def _run(
    settings: Settings,
    registry: Registry,
    out: RunSummary,
    say: Progress,
    validate_with_gx: bool,
    sampler: RssSampler,
    full: bool,
) -> None:
    def timed(stage: str) -> _timed:
        sampler.stage(stage)
        return _timed(out, stage)

    with (
        run_lock(settings.data),
        _gx_process(settings, validate_with_gx) as gx,
        warehouse(settings.warehouse, resources=settings.resources) as con,
    ):
        if full:
            drop_derived(con)
            compact(con)
        with timed("load"):
            say("读取新文件")
            out.loads = import_incoming_templates(settings, registry)
            out.loads += load_incoming(
                con, registry, settings.incoming, settings.archive, threads=_side_by_side(settings)
            )
            form = load_submissions(con, registry, settings.submissions, settings.archive)
            if form is not None:
                out.loads.append(form)
        with timed("stage"):
            _stage_and_validate(con, registry, out, say, gx, _side_by_side(settings))
        with timed("link"):
            say("关联同一居民（身份证号码与概率匹配）")
            release_cache(con)
            out.link = link(con, registry, settings.decisions, settings.secret())
        with timed("core"):
            say("合并一人一档")
            release_cache(con)
            out.core = build_core(con, registry, accepted_corrections(settings.requests))
        if gx is not None:
            say("数据质量期望（Great Expectations）")
            with timed("expectations_wait"):  # what GX added after the overlap
                _gx_results(con, registry, settings, out, gx)
        out.blocked = publish_guards(con)
        out.held = held_batches(con)
        if not out.blocked:
            with timed("publish"):
                say("发布快照")
                release_cache(con)
                out.published = publish_all(con, registry, settings)


def _gx_process(settings: Settings, validate_with_gx: bool) -> GxProcess | nullcontext[None]:
    """GX's own process, started before loading so its import overlaps it."""
    if not validate_with_gx:
        return nullcontext()
    return GxProcess(settings.data, settings.resources.spill_dir)


def _stage_and_validate(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    out: RunSummary,
    say: Progress,
    gx: GxProcess | None,
    threads: int = 1,
) -> None:
    """Stage each source and judge its rules; each staged table's GX suite is handed to the
    GX process right away (the rows as written are still at hand) and judged while the run
    goes on.

    Sources are staged side by side on `threads` connections of their own: a source's
    work is one statement after another, each planned alone and many too small to keep both
    cores busy, so two sources fill each other's gaps (different tables; the tables they
    share are made before, since two connections creating one table conflict)."""
    prepare_staging(con)
    names = list(registry.sources)
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="hub-stage") as pool:
        # connections are made here: `con` serves one call at a time
        futures = [pool.submit(_stage_one, cursor(con), registry, name, gx) for name in names]
        for name, future in zip(names, futures, strict=True):
            stage, checks = future.result()
            say(f"规范化与校验 {name}")
            out.stages.append(stage)
            out.checks[name] = checks


# files read and sources staged at once: two fill the gaps of one; never more than the
# threads the warehouse may use (a worker sharing its machine is held to its share)
SIDE_BY_SIDE = 2


def _side_by_side(settings: Settings) -> int:
    return max(1, min(SIDE_BY_SIDE, settings.resources.threads))


def _stage_one(
    cur: duckdb.DuckDBPyConnection, registry: Registry, name: str, gx: GxProcess | None
) -> tuple[StageResult, list[CheckOutcome]]:
    """Stage `name` on `cur`, a connection of its own, closed when done."""
    try:
        stage = stage_source(cur, registry, name)
        checks = run_checks(cur, registry, name)
        if gx is not None and table_exists(cur, "staged", name):
            for batch in pending(cur, name):
                gx.submit(cur, suite_input(cur, registry, name, batch))
        return stage, checks
    finally:
        cur.close()


def _gx_results(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    settings: Settings,
    out: RunSummary,
    gx: GxProcess,
) -> None:
    """Store what the GX process found, and render the quality page."""
    for job, results in gx.results():
        store_results(con, job, results)
    for name in registry.sources:
        if table_exists(con, "staged", name):
            out.expectations[name] = summary_dicts(con, name)
    write_quality_page(con, registry, settings.data)
    out.seconds["expectations"] = round(gx.seconds, 3)


def publish_all(
    con: duckdb.DuckDBPyConnection, registry: Registry, settings: Settings
) -> PublishResult:
    """The core datasets, what became of each form submission, and every active grant's
    table, switched in one release."""
    shares = build_share_views(con, registry, date.today())
    build_form_status(con)
    datasets = DATASETS | {FORM_DATASET: (FORM_TABLE, "submission_id")} | shares
    # the access log's head goes into the release, where the log's writer cannot reach it
    fields = observed_fields(registry)
    result = publish(
        con,
        settings.published,
        datasets,
        {"audit_head": audit_head(settings)},
        {
            "provenance": lambda persons: provenance_sql(
                fields, persons, held(con, ROWS, persons), held(con, CHOICE, persons)
            ),
            **{
                name: partial(rows_of, con, table)
                for name, (table, _) in DATASETS.items()
                if name != "provenance"
            },
        },
    )
    published(con)
    return result


def step_count(registry: Registry, validate_with_gx: bool = True) -> int:
    """How many times `run_pipeline` reports progress: for a progress bar's total."""
    return 4 + int(validate_with_gx) + len(registry.sources)


def held_batches(con: duckdb.DuckDBPyConnection) -> list[Batch]:
    return batches(con, HELD) if table_exists(con, "raw", "_batches") else []


class _timed:
    def __init__(self, summary: RunSummary, stage: str) -> None:
        self.summary, self.stage = summary, stage

    def __enter__(self) -> None:
        self.t = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.summary.seconds[self.stage] = round(time.perf_counter() - self.t, 3)
