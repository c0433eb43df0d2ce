"""Run the Great Expectations suites: one GX file context per run, each staged table's suite
validated on the rows staging kept, results stored in `staged._expectations`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from hub.normalize.stage import staged_batches
from hub.registry.loader import Registry
from hub.validate.expectations import Expectation, expectations_for
from hub.validate.staged_checks import kept_rows_sql
from hub.warehouse import lit, one, q, table_exists

RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS staged._expectations (
    source VARCHAR, expectation VARCHAR, column_name VARCHAR, rule VARCHAR, severity VARCHAR,
    guards_publish BOOLEAN, success BOOLEAN, unexpected_count BIGINT, element_count BIGINT,
    validated_at TIMESTAMP, kept_rows BIGINT, batch_id VARCHAR
);
ALTER TABLE staged._expectations ADD COLUMN IF NOT EXISTS kept_rows BIGINT;
ALTER TABLE staged._expectations ADD COLUMN IF NOT EXISTS batch_id VARCHAR;
"""
# one row per rule of a source, over its staged batches (each batch is validated once)
SUMMARY_SQL = """
SELECT source, expectation, column_name, rule, severity, bool_and(guards_publish) AS guards,
    bool_and(success) AS success, sum(unexpected_count) AS unexpected,
    sum(element_count) AS elements, max(validated_at) AS validated_at, sum(kept_rows) AS kept
FROM staged._expectations e SEMI JOIN staged._staged_batches b USING (source, batch_id)
{where} GROUP BY ALL ORDER BY source, rule
"""
# GX re-judges every row some SQL rule flagged (up to FLAGGED_ROWS) and a fixed sample of
# SAMPLE_ROWS rows none flagged: on pandas GX costs ~13x a DuckDB query and holds its rows in
# memory, so it checks the SQL verdicts (each violation, and a sample of the passes) rather
# than redoing them on every row of a city.
SAMPLE_ROWS = 20_000
FLAGGED_ROWS = 50_000


class GxSession:
    """One GX file context for a run; suites are validated one by one."""

    def __init__(self, gx_root: Path) -> None:
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="file", project_root_dir=str(gx_root))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        stamp = datetime.now(UTC)
        self.run_id = RunIdentifier(run_name=f"hub-{stamp:%Y%m%dT%H%M%S%fZ}", run_time=stamp)

    def validate(self, df: Any, source: str, exps: list[Expectation]) -> list[dict[str, Any]]:
        gx, context = self.gx, self.context
        ds = _get_or(
            lambda: context.data_sources.get("hub"), lambda: context.data_sources.add_pandas("hub")
        )
        asset = _get_or(lambda: ds.get_asset(source), lambda: ds.add_dataframe_asset(name=source))
        batch = _get_or(
            lambda: asset.get_batch_definition("whole"),
            lambda: asset.add_batch_definition_whole_dataframe("whole"),
        )
        suite = gx.ExpectationSuite(name=f"staged.{source}")
        for e in exps:
            cls = getattr(gx.expectations, e.kind)
            suite.add_expectation(cls(**e.kwargs, meta={"rule": e.rule, "severity": e.severity}))
        suite = context.suites.add_or_update(suite)
        vd = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"staged.{source}", data=batch, suite=suite)
        )
        # counts only (BASIC): the default SUMMARY also tallies the unexpected values, which
        # nothing here reads, at a fifth of the suite's time
        run = vd.run(batch_parameters={"dataframe": df}, run_id=self.run_id, result_format="BASIC")
        return _match_results(run.results, exps, len(df))


def run_suites(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    sources: list[str],
    gx_root: Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Validate each staged table with its GX suite."""
    session = GxSession(gx_root)
    out = {}
    for name in sources:
        if progress:
            progress(name)
        out[name] = run_suite(con, registry, name, session)
    return out


@dataclass
class SuiteInput:
    """What GX validates for one batch: read from the warehouse, then judged anywhere."""

    source: str
    batch_id: str
    exps: list[Expectation]
    sql: str  # the rows to re-judge, with the columns the suite reads
    kept: int  # rows staging kept of the batch (the sample's population)


def pending(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """Staged batches of `source` that GX has not validated yet."""
    con.execute(RESULTS_DDL)
    done = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT batch_id FROM staged._expectations WHERE source = ?", [source]
        ).fetchall()
    }
    return [b for b in staged_batches(con, source) if b not in done]


def suite_input(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, batch: str
) -> SuiteInput:
    """The rows GX re-judges of one batch of `source` (see SAMPLE_ROWS)."""
    exps = expectations_for(registry, source)
    inputs = dict(kv for e in exps for kv in e.inputs)
    cols = ", ".join(f"{expr} AS {q(name)}" for name, expr in inputs.items()) or "1 AS _row"
    kept, sample = _sample_sql(con, registry, source, batch)
    return SuiteInput(source, batch, exps, f"SELECT {cols} FROM ({sample})", kept)


def store_results(
    con: duckdb.DuckDBPyConnection, job: SuiteInput, results: list[dict[str, Any]]
) -> None:
    """Write one batch's results to `staged._expectations`."""
    con.execute(RESULTS_DDL)
    now = datetime.now().replace(microsecond=0)
    rows = [
        [
            *(job.source, e.kind, e.column, e.rule, e.severity, e.guards_publish, r["success"]),
            *(r["unexpected_count"], r["element_count"], now, job.kept, job.batch_id),
        ]
        for e, r in zip(job.exps, results, strict=True)
    ]
    con.execute(
        "DELETE FROM staged._expectations WHERE source = ? AND batch_id = ?",
        [job.source, job.batch_id],
    )
    con.executemany(
        "INSERT INTO staged._expectations (source, expectation, column_name, rule, severity, "
        "guards_publish, success, unexpected_count, element_count, validated_at, kept_rows, "
        "batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def summary(con: duckdb.DuckDBPyConnection, source: str | None = None) -> list[tuple[Any, ...]]:
    """Per source and rule over the staged batches: (source, expectation, column, rule,
    severity, guards_publish, success, unexpected, elements, validated_at, kept)."""
    con.execute(RESULTS_DDL)
    from hub.normalize.stage_state import STATE_DDL

    con.execute(STATE_DDL)
    where = "" if source is None else f"WHERE source = {lit(source)}"
    return [tuple(r) for r in con.execute(SUMMARY_SQL.format(where=where)).fetchall()]


def summary_dicts(con: duckdb.DuckDBPyConnection, source: str) -> list[dict[str, Any]]:
    keys = ("expectation", "column", "rule", "severity", "guards_publish", "success", "unexpected")
    return [dict(zip(keys, r[1:8], strict=True)) for r in summary(con, source)]


def run_suite(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, session: GxSession
) -> list[dict[str, Any]]:
    """Validate each staged batch of `source` not yet validated; the summary over all."""
    if not table_exists(con, "staged", source):
        return []
    for batch in pending(con, source):
        job = suite_input(con, registry, source, batch)
        df = con.execute(job.sql).df()
        store_results(con, job, session.validate(df, source, job.exps))
    return summary_dicts(con, source)


def _sample_sql(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, batch: str
) -> tuple[int, str]:
    """(kept rows, SQL of the rows GX re-judges) of one batch: all of them while few, else
    every flagged row (a sample of them past FLAGGED_ROWS) and about SAMPLE_ROWS of the
    rest, the same ones each run. Flagged kept rows are those staging recorded a warning for
    (a row that breaks an error rule is not kept); rows are drawn by a hash of their place."""
    frame = kept_rows_sql(con, registry, source, [batch])
    warned = (
        "SELECT DISTINCT batch_id AS _batch_id, source_row AS _source_row, true AS _flagged "
        f"FROM quarantine.issues WHERE source = {lit(source)} AND batch_id = {lit(batch)} "
        "AND severity = 'warning'"
    )
    kept, flagged_n = one(
        con,
        f"SELECT (SELECT count(*) FROM staged.{q(source)} WHERE _batch_id = {lit(batch)}), "
        f"(SELECT count(*) FROM ({warned}))",
    )
    if kept <= SAMPLE_ROWS + FLAGGED_ROWS:
        return int(kept), frame
    h = "hash(_batch_id, _source_row)"
    take_flagged = "true" if flagged_n <= FLAGGED_ROWS else f"{h} % {flagged_n} < {FLAGGED_ROWS}"
    return int(kept), (
        f"SELECT n.* FROM ({frame}) n LEFT JOIN ({warned}) w USING (_batch_id, _source_row) "
        f"WHERE CASE WHEN w._flagged THEN {take_flagged} ELSE {h} % {kept} < {SAMPLE_ROWS} END"
    )


def _match_results(results: Any, exps: list[Expectation], rows: int) -> list[dict[str, Any]]:
    """Results in the order of `exps` (GX may reorder them), matched by the rule in meta."""
    by_rule = {
        r.expectation_config.meta.get("rule"): r
        for r in results
        if r.expectation_config is not None
    }
    out = []
    for e in exps:
        r = by_rule[e.rule]
        out.append(
            {
                "success": bool(r.success),
                "unexpected_count": r.result.get("unexpected_count", 0 if r.success else None),
                "element_count": r.result.get("element_count", rows),
            }
        )
    return out


def _get_or(get: Any, make: Any) -> Any:
    try:
        return get()
    except Exception:  # GX raises several lookup errors; absence just means create it
        return make()
