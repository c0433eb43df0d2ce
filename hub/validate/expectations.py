"""A Great Expectations suite per staged table, built from `fields.yaml`, and the quality page.

Each row-level rule (see `staged_checks`) has a GX twin that validates the same rows — the rows
staging kept, as written and as normalized — so GX and the Dagster check give one verdict per
rule. Besides the twins, one table-level expectation: rows present.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from hub.normalize.lookups import org_keys
from hub.registry.loader import Registry
from hub.registry.models import Field
from hub.validate.rules import Check, agreement_terms, col
from hub.validate.staged_checks import rule_checks

ROWS_PRESENT = "rows_present"
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Expectation:
    kind: str  # GX class name
    kwargs: dict[str, Any]
    rule: str  # the rule it twins (e.g. citizen_id_format), or rows_present
    severity: str
    guards_publish: bool = False
    # the columns it reads, as SQL over the kept rows (`_n`): name -> expression
    inputs: tuple[tuple[str, str], ...] = ()

    @property
    def column(self) -> str | None:
        cols = self.kwargs.get("column") or self.kwargs.get("column_A")
        return str(cols).split("__")[0] if cols else None


def expectations_for(registry: Registry, source: str) -> list[Expectation]:
    """The suite of one staged table, derived from the registry (no GX import needed)."""
    src = registry.sources[source]
    out = [
        Expectation("ExpectTableRowCountToBeBetween", {"min_value": 1}, ROWS_PRESENT, "error", True)
    ][: int(src.expect_rows)]
    for name, checks in rule_checks(registry, source).items():
        f = registry.fields[checks[0].field]
        rule = f.rule(checks[0].kind)
        kind, kwargs, inputs = _twin(registry, f, checks[0])
        severity = "error" if any(c.severity == "error" for c in checks) else "warning"
        guards = bool(rule and rule.guards_publish)
        out.append(Expectation(kind, kwargs, name, severity, guards, tuple(inputs.items())))
    return out


def _twin(registry: Registry, f: Field, check: Check) -> tuple[str, dict[str, Any], dict[str, str]]:
    """The GX expectation that judges `check`'s rule: (class, arguments, input columns)."""
    raw, v, name = col(f.name, "raw"), col(f.name, "v"), f.name
    if check.kind == "required":
        return _not_null(f"{name}__clean", f"hub_clean({raw})")
    if check.kind == "format" and f.normalize == "cn_id":
        c = f"{name}__problem"
        return "ExpectColumnValuesToBeNull", {"column": c}, {c: col(f.name, "problem")}
    if check.kind == "format" and f.normalize in ("code", "boolean", "orgunit"):
        c = f"{name}__key"
        if f.normalize == "orgunit":
            keys = sorted({k for level, k, _ in org_keys(registry) if level == f.orgunit_level})
        else:
            keys = sorted(registry.codelists[f.codelist or ""].lookup())
        key = f"CASE WHEN hub_clean({raw}) IS NOT NULL THEN hub_code_key({raw}) END"
        return "ExpectColumnValuesToBeInSet", {"column": c, "value_set": keys}, {c: key}
    if check.kind == "format":  # dates, phones, numbers: every written value parses
        parsed = f"CASE WHEN hub_clean({raw}) IS NULL THEN '' ELSE CAST({v} AS VARCHAR) END"
        return _not_null(f"{name}__parsed", parsed)
    rule = f.rule(check.kind)
    if rule is None:  # every other check comes from a written rule
        raise LookupError(f"{f.name}: no {check.kind} rule behind check {check.rule}")
    if check.kind == "pattern":
        c = f"{name}__text"
        regex = rf"\A(?:{rule.pattern})\Z"  # the SQL side is a full match
        return (
            "ExpectColumnValuesToMatchRegex",
            {"column": c, "regex": regex},
            {c: f"CAST({v} AS VARCHAR)"},
        )
    if check.kind == "range":
        c = f"{name}__num"
        expr = f"({v} - DATE '1970-01-01')" if f.type == "date" else f"CAST({v} AS DOUBLE)"
        bounds = {"min_value": _num(f, rule.min), "max_value": _num(f, rule.max)}
        return "ExpectColumnValuesToBeBetween", {"column": c, **bounds}, {c: expr}
    if check.kind == "agrees_with_citizen_id":
        value, expect, _, _ = agreement_terms(f) or ("NULL", "NULL", "", "")
        a, b = f"{name}__value", f"{name}__from_id"
        kwargs = {"column_A": a, "column_B": b, "ignore_row_if": "either_value_is_missing"}
        inputs = {a: f"CAST({value} AS VARCHAR)", b: f"CAST({expect} AS VARCHAR)"}
        return "ExpectColumnPairValuesToBeEqual", kwargs, inputs
    # unique_in_batch: how often the row's value occurs in its batch (over every loaded row)
    c = f"{name}__dups"
    return "ExpectColumnValuesToBeBetween", {"column": c, "max_value": 1}, {c: col(f.name, "dups")}


def _not_null(column: str, expr: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    return "ExpectColumnValuesToNotBeNull", {"column": column}, {column: expr}


def _num(f: Field, bound: float | str | None) -> float | int | None:
    if bound is None:
        return None
    if f.type == "date":
        day = date.today() if bound == "today" else date.fromisoformat(str(bound))
        return (day - _EPOCH).days
    return float(bound)
