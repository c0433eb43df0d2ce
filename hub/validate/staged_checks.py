"""Row-level rules re-checked on the staged tables: what Dagster shows as asset checks and
what guards publishing. Severity comes from the rule, never from the outcome."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from hub.registry.loader import Registry
from hub.registry.models import Field
from hub.validate.rules import checks_for, col
from hub.warehouse import lit, one, q, table_exists


@dataclass(frozen=True)
class CheckOutcome:
    """One rule of one field on one staged table."""

    name: str  # e.g. citizen_id_format
    field: str
    kind: str
    severity: str
    guards_publish: bool
    description: str
    staged_violations: int = 0
    flagged: int = 0  # rows flagged at staging (warnings kept, errors quarantined)

    @property
    def passed(self) -> bool:
        """Errors are handled by quarantine, so only staged rows count; warnings count flags."""
        if self.severity == "error":
            return self.staged_violations == 0
        return self.staged_violations == 0 and self.flagged == 0


def check_specs(registry: Registry, source: str) -> list[CheckOutcome]:
    """The checks of a source without running them (Dagster declares them up front)."""
    src = registry.sources[source]
    has_id = src.column_for("citizen_id") is not None
    out: dict[str, CheckOutcome] = {}
    for c in src.mapped:
        f = registry.fields[c.field or ""]
        for chk in checks_for(f, has_id):
            rule = f.rule(chk.kind)
            name = f"{f.name}_{chk.kind}"
            out.setdefault(
                name,
                CheckOutcome(
                    name=name,
                    field=f.name,
                    kind=chk.kind,
                    severity=chk.severity,
                    guards_publish=bool(rule and rule.guards_publish),
                    description=f"{f.label}（{c.header}）：{_KIND_LABEL[chk.kind]}",
                ),
            )
    return list(out.values())


def run_checks(
    con: duckdb.DuckDBPyConnection, registry: Registry, source: str
) -> list[CheckOutcome]:
    """Evaluate every check of `source` against staged.<source> and the staging issues."""
    specs = check_specs(registry, source)
    if not table_exists(con, "staged", source):
        return specs
    src = registry.sources[source]
    fields = [registry.fields[c.field or ""] for c in src.mapped]
    has_id = src.column_for("citizen_id") is not None
    view = _staged_view(source, fields)
    preds: dict[str, list[str]] = {}
    for f in fields:
        for chk in checks_for(f, has_id):
            preds.setdefault(f"{f.name}_{chk.kind}", []).append(chk.predicate)
    counts = ", ".join(f"count(*) FILTER (WHERE {' OR '.join(p)})" for p in preds.values())
    staged = dict(zip(preds, one(con, f"SELECT {counts} FROM ({view})"), strict=True))
    flagged = {
        f"{fld}_{kind}": n
        for fld, kind, n in con.execute(
            "SELECT field, rule_kind, count(DISTINCT (batch_id, source_row)) FROM quarantine.issues "
            f"WHERE source = {lit(source)} GROUP BY ALL"
        ).fetchall()
    }
    return [
        CheckOutcome(
            **{
                **s.__dict__,
                "staged_violations": int(staged.get(s.name, 0)),
                "flagged": int(flagged.get(s.name, 0)),
            }
        )
        for s in specs
    ]


def _staged_view(source: str, fields: list[Field]) -> str:
    """Staged values dressed as `_n`, so the staging predicates can be re-run on them."""
    cols = []
    for f in fields:
        name = q(f.name)
        cols += [
            f"CAST({name} AS VARCHAR) AS {col(f.name, 'raw')}",
            f"{name} AS {col(f.name, 'v')}",
        ]
        if f.rule("unique_in_batch"):
            cols.append(
                f"CASE WHEN {name} IS NOT NULL THEN count(*) OVER "
                f"(PARTITION BY _batch_id, {name}) END AS {col(f.name, 'dups')}"
            )
        if f.normalize == "cn_id":
            cols.append(f"hub_id_problem({name}) AS {col(f.name, 'problem')}")
    return f"SELECT {', '.join(cols)} FROM staged.{q(source)}"


_KIND_LABEL = {
    "required": "必填",
    "format": "格式与代码规范",
    "pattern": "格式模式",
    "range": "取值范围",
    "agrees_with_citizen_id": "与身份证号码一致",
    "unique_in_batch": "同一文件内不重复",
}
