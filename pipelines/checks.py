"""Asset checks of a staged table: each row-level rule (SQL) and its GX twin, which judge the
same rows and give the same verdict (`gx_<rule>` beside `<rule>`), plus GX's table checks.

Severity comes from the rule in fields.yaml. None blocks core/person: a row fault quarantines
or flags its row, and a whole batch that looks wrong is held at load (hub.ingest.holds).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from hub.registry import Registry
from hub.validate.expectations import expectations_for
from hub.validate.staged_checks import check_specs, run_checks


def _key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["staged", source])


def gx_check_name(rule: str) -> str:
    return f"gx_{rule}"


def check_specs_for(registry: Registry, source: str) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(c.name, asset=_key(source), description=c.description, blocking=False)
        for c in check_specs(registry, source)
    ]
    labels = {c.name: c.description for c in check_specs(registry, source)}
    specs += [
        dg.AssetCheckSpec(
            gx_check_name(e.rule),
            asset=_key(source),
            description=f"Great Expectations {e.kind}：{labels.get(e.rule, '表中有数据')}",
            blocking=False,
        )
        for e in expectations_for(registry, source)
    ]
    return specs


def check_results(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    source: str,
    expectations: list[dict[str, Any]],
) -> list[dg.AssetCheckResult]:
    out = [
        dg.AssetCheckResult(
            asset_key=_key(source),
            check_name=c.name,
            passed=c.passed,
            severity=_severity(c.severity),
            metadata={
                "staged_violations": c.staged_violations,
                "flagged_rows": c.flagged,
                "quarantined_rows": c.quarantined,
                "rule": c.kind,
            },
        )
        for c in run_checks(con, registry, source)
    ]
    out += [
        dg.AssetCheckResult(
            asset_key=_key(source),
            check_name=gx_check_name(e["rule"]),
            passed=bool(e["success"]),
            severity=_severity(e["severity"]),
            metadata={"expectation": e["expectation"], "unexpected_rows": e["unexpected"] or 0},
        )
        for e in expectations
    ]
    # a source with no rows yet (the form before anyone submits) has nothing to check
    done = {r.check_name for r in out}
    out += [
        dg.AssetCheckResult(
            asset_key=_key(source), check_name=s.name, passed=True, metadata={"说明": "尚无数据"}
        )
        for s in check_specs_for(registry, source)
        if s.name not in done
    ]
    return out


def _severity(s: str) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if s == "error" else dg.AssetCheckSeverity.WARN
