"""The row-level rules of a source, judged once: what Dagster shows as asset checks, what the
Great Expectations suite re-checks, and what guards publishing.

A rule's verdict is taken over the rows staging kept (`_n` restricted to `staged.<source>`):
an error rule passes when every row that broke it went to quarantine, a warning rule when no
kept row breaks it. The GX twin of each rule validates the same rows (see `expectations`), so
the two can be compared one to one. Severity comes from the rule, never from the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb

from hub.normalize.stage import check_columns, rule_inputs, staged_batches
from hub.registry.loader import Registry
from hub.validate.rules import Check, source_checks
from hub.warehouse import lit, q, table_exists


@dataclass(frozen=True)
class CheckOutcome:
    """One rule of one field on one staged table."""

    name: str  # e.g. citizen_id_format
    field: str
    kind: str
    severity: str
    guards_publish: bool
    description: str
    staged_violations: int = 0  # kept rows that break the rule (the verdict)
    flagged: int = 0  # rows flagged at staging (warnings kept, errors quarantined)
    quarantined: int = 0  # of those, rows sent to quarantine

    @property
    def passed(self) -> bool:
        return self.staged_violations == 0


def rule_checks(registry: Registry, source: str) -> dict[str, list[Check]]:
    """The SQL checks of each rule (one rule may be two checks: error, and waived warning)."""
    out: dict[str, list[Check]] = {}
    for c in source_checks(registry.sources[source], registry.fields):
        out.setdefault(f"{c.field}_{c.kind}", []).append(c)
    return out


def rule_predicates(registry: Registry, source: str) -> dict[str, str]:
    """SQL over `_n` per rule: the row breaks it (from the flags `_n` holds per predicate)."""
    flag = check_columns(source_checks(registry.sources[source], registry.fields))
    return {
        name: " OR ".join(dict.fromkeys(flag[c.predicate] for c in checks))
        for name, checks in rule_checks(registry, source).items()
    }


def check_specs(registry: Registry, source: str) -> list[CheckOutcome]:
    """The checks of a source without running them (Dagster declares them up front)."""
    src = registry.sources[source]
    out = []
    for name, checks in rule_checks(registry, source).items():
        f = registry.fields[checks[0].field]
        rule = f.rule(checks[0].kind)
        header = (src.column_for(f.name) or src.columns[0]).header
        out.append(
            CheckOutcome(
                name=name,
                field=f.name,
                kind=checks[0].kind,
                severity="error" if any(c.severity == "error" for c in checks) else "warning",
                guards_publish=bool(rule and rule.guards_publish),
                description=f"{f.label}（{header}）：{KIND_LABEL[checks[0].kind]}",
            )
        )
    return out


COUNTS_DDL = """
CREATE TABLE IF NOT EXISTS staged._rule_counts (
    source VARCHAR, batch_id VARCHAR, rule VARCHAR, violations BIGINT
)
"""


def run_checks(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str
) -> list[CheckOutcome]:
    """Evaluate every rule of `source` on its kept rows, with the staging issues beside it.
    Each batch is judged once (counts kept per batch); the verdict sums the staged batches."""
    specs = check_specs(registry, source)
    if not specs or not table_exists(con, "staged", source):
        return specs
    con.execute(COUNTS_DDL)
    batches = staged_batches(con, source)
    judged = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT batch_id FROM staged._rule_counts WHERE source = ?", [source]
        ).fetchall()
    }
    missing = [b for b in batches if b not in judged]
    if missing:
        _count(con, registry, source, missing)
    kept = dict(
        con.execute(
            "SELECT rule, sum(violations) FROM staged._rule_counts WHERE source = ? "
            "AND list_contains(?, batch_id) GROUP BY rule",
            [source, batches],
        ).fetchall()
    )
    issues = {
        f"{fld}_{kind}": (int(n), int(bad))
        for fld, kind, n, bad in con.execute(
            "SELECT field, rule_kind, count(DISTINCT (batch_id, source_row)), "
            "count(DISTINCT (batch_id, source_row)) FILTER (WHERE severity = 'error') "
            f"FROM quarantine.issues WHERE source = {lit(source)} GROUP BY ALL"
        ).fetchall()
    }
    return [
        replace(
            s,
            staged_violations=int(kept.get(s.name, 0)),
            flagged=issues.get(s.name, (0, 0))[0],
            quarantined=issues.get(s.name, (0, 0))[1],
        )
        for s in specs
    ]


def _count(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, batches: list[str]
) -> None:
    """Per batch and rule, the kept rows that break it (a zero row for each too)."""
    preds = rule_predicates(registry, source)
    frame = kept_rows_sql(con, registry, source, batches)
    counts = "".join(f", count(*) FILTER (WHERE {p})" for p in preds.values())
    found = {
        r[0]: r[1:]
        for r in con.execute(f"SELECT _batch_id{counts} FROM ({frame}) GROUP BY 1").fetchall()
    }
    rows = [
        (source, b, name, int(found[b][i]) if b in found else 0)
        for b in batches
        for i, name in enumerate(preds)
    ]
    con.executemany("INSERT INTO staged._rule_counts VALUES (?, ?, ?, ?)", rows)


def kept_rows_sql(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str, batches: list[str]
) -> str:
    """The rule inputs (`_n`) of the rows staging kept of `batches`: what verdicts are taken on."""
    rows = rule_inputs(con, registry, source, batches)
    return f"SELECT * FROM ({rows}) n SEMI JOIN staged.{q(source)} s USING (_batch_id, _source_row)"


KIND_LABEL = {
    "required": "必填",
    "format": "格式与代码规范",
    "pattern": "格式模式",
    "range": "取值范围",
    "agrees_with_citizen_id": "与身份证号码一致",
    "unique_in_batch": "同一文件内不重复",
}
