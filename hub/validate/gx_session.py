"""Run the Great Expectations suites: one GX file context per run, each staged table's suite
validated on the rows staging kept, results stored in `staged._expectations`."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from hub.registry.loader import Registry
from hub.validate.expectations import Expectation, expectations_for
from hub.validate.staged_checks import kept_rows_sql
from hub.warehouse import q, table_exists

log = logging.getLogger(__name__)

RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS staged._expectations (
    source VARCHAR, expectation VARCHAR, column_name VARCHAR, rule VARCHAR, severity VARCHAR,
    guards_publish BOOLEAN, success BOOLEAN, unexpected_count BIGINT, element_count BIGINT,
    validated_at TIMESTAMP
)
"""


def prefetch_gx() -> None:
    """Start importing Great Expectations in a background thread.

    The import costs ~5 s of pure Python; started before loading and staging, it runs on the
    second core while DuckDB and the file readers (which release the GIL) do their work. The
    readers are imported first so the two threads never import the same modules at once.
    """
    import fastexcel  # noqa: F401
    import pandas  # noqa: F401

    threading.Thread(target=_import_quietly, name="gx-import", daemon=True).start()


def _import_quietly() -> None:
    try:
        importlib.import_module("great_expectations")
    except Exception:  # the import is repeated, and fails loudly, where GX is used
        log.debug("background import of great_expectations failed", exc_info=True)


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
        run = vd.run(batch_parameters={"dataframe": df}, run_id=self.run_id)
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


def run_suite(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, session: GxSession
) -> list[dict[str, Any]]:
    """Validate the kept rows of `source` with GX; store the results in `staged._expectations`."""
    con.execute(RESULTS_DDL)
    if not table_exists(con, "staged", source):
        return []
    exps = expectations_for(registry, source)
    inputs = dict(kv for e in exps for kv in e.inputs)
    cols = ", ".join(f"{expr} AS {q(name)}" for name, expr in inputs.items()) or "1 AS _row"
    df = con.execute(f"SELECT {cols} FROM ({kept_rows_sql(con, registry, source)})").df()
    results = session.validate(df, source, exps)
    now = datetime.now().replace(microsecond=0)
    rows = [
        [
            *(source, e.kind, e.column, e.rule, e.severity, e.guards_publish, r["success"]),
            *(r["unexpected_count"], r["element_count"], now),
        ]
        for e, r in zip(exps, results, strict=True)
    ]
    con.execute("DELETE FROM staged._expectations WHERE source = ?", [source])
    con.executemany("INSERT INTO staged._expectations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    keys = ("expectation", "column", "rule", "severity", "guards_publish", "success", "unexpected")
    return [dict(zip(keys, r[1:8], strict=True)) for r in rows]


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
