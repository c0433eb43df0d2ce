"""A Great Expectations suite per staged table, built from `fields.yaml`, with data docs.

Table-level expectations only (row-level rules already ran as SQL): rows present, required
fields complete, citizen_id unique within a batch, code values inside their code lists.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from hub.registry.loader import Registry
from hub.warehouse import q, table_exists

log = logging.getLogger(__name__)

RESULTS_DDL = """
CREATE TABLE IF NOT EXISTS staged._expectations (
    source VARCHAR, expectation VARCHAR, column_name VARCHAR, rule VARCHAR, severity VARCHAR,
    guards_publish BOOLEAN, success BOOLEAN, unexpected_count BIGINT, element_count BIGINT,
    validated_at TIMESTAMP
)
"""


@dataclass(frozen=True)
class Expectation:
    kind: str  # GX class name
    kwargs: dict[str, Any]
    rule: str
    severity: str
    guards_publish: bool = False

    @property
    def column(self) -> str | None:
        cols = self.kwargs.get("column") or self.kwargs.get("column_list")
        return ",".join(cols) if isinstance(cols, list) else cols


def expectations_for(registry: Registry, source: str) -> list[Expectation]:
    """The suite of one staged table, derived from the registry (no GX import needed)."""
    src = registry.sources[source]
    out = [
        Expectation(
            "ExpectTableRowCountToBeBetween", {"min_value": 1}, "rows_present", "error", True
        )
    ][: int(src.expect_rows)]
    for c in src.mapped:
        f = registry.fields[c.field or ""]
        req = f.rule("required")
        if req:
            out.append(
                Expectation(
                    "ExpectColumnValuesToNotBeNull",
                    {"column": f.name},
                    "required_complete",
                    req.severity,
                    req.guards_publish,
                )
            )
        uniq = f.rule("unique_in_batch")
        if uniq:
            out.append(
                Expectation(
                    "ExpectCompoundColumnsToBeUnique",
                    {"column_list": ["_batch_id", f.name]},
                    "unique_in_batch",
                    uniq.severity,
                    uniq.guards_publish,
                )
            )
        if f.normalize == "code" and f.codelist:
            fmt = f.rule("format")
            codes = sorted({e.code for e in registry.codelists[f.codelist].entries})
            out.append(
                Expectation(
                    "ExpectColumnValuesToBeInSet",
                    {"column": f.name, "value_set": codes},
                    "in_codelist",
                    fmt.severity if fmt else "warning",
                    fmt.guards_publish if fmt else False,
                )
            )
    return out


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
    """One GX file context for a run: suites validated one by one, data docs built once."""

    def __init__(self, gx_root: Path) -> None:
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="file", project_root_dir=str(gx_root))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        stamp = datetime.now(UTC)
        self.run_id = RunIdentifier(run_name=f"hub-{stamp:%Y%m%dT%H%M%S%fZ}", run_time=stamp)
        self.validated = False

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
        # The definition stores its result; docs are rendered once for the run (build_docs).
        run = vd.run(batch_parameters={"dataframe": df}, run_id=self.run_id)
        self.validated = True
        return _match_results(run.results, exps, len(df))

    def build_docs(self) -> None:
        """Render this run's results and the index; older results keep their pages."""
        if not self.validated:
            return
        from great_expectations.data_context.types.resource_identifiers import (
            ValidationResultIdentifier,
        )

        mine = [
            k
            for k in self.context.validation_results_store.list_keys()
            if isinstance(k, ValidationResultIdentifier)
            and k.run_id.run_name == self.run_id.run_name
        ]
        self.context.build_data_docs(resource_identifiers=mine)


def run_suites(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    sources: list[str],
    gx_root: Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Validate each staged table with its GX suite, then build the data docs once."""
    session = GxSession(gx_root)
    out = {}
    for name in sources:
        if progress:
            progress(name)
        out[name] = run_suite(con, registry, name, session)
    session.build_docs()
    return out


def run_suite(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, session: GxSession
) -> list[dict[str, Any]]:
    """Validate staged.<source> with GX and store the results in `staged._expectations`."""
    con.execute(RESULTS_DDL)
    if not table_exists(con, "staged", source):
        return []
    exps = expectations_for(registry, source)
    cols = sorted({c for e in exps for c in _columns(e)})
    df = con.execute(f"SELECT {', '.join(q(c) for c in cols)} FROM staged.{q(source)}").df()
    results = session.validate(df, source, exps)
    now = datetime.now().replace(microsecond=0)
    rows = [
        [
            source,
            e.kind,
            e.column,
            e.rule,
            e.severity,
            e.guards_publish,
            r["success"],
            r["unexpected_count"],
            r["element_count"],
            now,
        ]
        for e, r in zip(exps, results, strict=True)
    ]
    con.execute("DELETE FROM staged._expectations WHERE source = ?", [source])
    con.executemany("INSERT INTO staged._expectations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return [
        dict(
            zip(
                ("expectation", "column", "rule", "severity", "success"),
                (r[1], r[2], r[3], r[4], r[6]),
                strict=True,
            )
        )
        for r in rows
    ]


def _columns(e: Expectation) -> list[str]:
    if "column" in e.kwargs:
        return [e.kwargs["column"]]
    return list(e.kwargs.get("column_list", []))


def _match_results(results: Any, exps: list[Expectation], rows: int) -> list[dict[str, Any]]:
    # GX may reorder results; match them back to our expectations by type and column.
    by_key = {
        (r.expectation_config.type, _kw_key(r.expectation_config.kwargs)): r
        for r in results
        if r.expectation_config is not None
    }
    out = []
    for e in exps:
        r = by_key[(_snake(e.kind), _kw_key(e.kwargs))]
        out.append(
            {
                "success": bool(r.success),
                "unexpected_count": r.result.get("unexpected_count"),
                "element_count": r.result.get("element_count", rows),
            }
        )
    return out


def docs_index(gx_root: Path) -> Path:
    """The data docs home page; GX keeps its project in `<gx_root>/gx/`."""
    return gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _kw_key(kwargs: Any) -> str:
    col = kwargs.get("column") or kwargs.get("column_list")
    return ",".join(col) if isinstance(col, list) else str(col)


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("_")


def _get_or(get: Any, make: Any) -> Any:
    try:
        return get()
    except Exception:  # GX raises several lookup errors; absence just means create it
        return make()
