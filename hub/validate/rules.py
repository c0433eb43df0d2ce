"""Turn a field's rules into SQL predicates over the normalizing table `_n`.

`_n` has, per mapped field f: `f__raw` (the cell as written), `f__v` (normalized, NULL if it
could not be), for IDs `f__problem`, and for unique rules `f__dups`. A predicate is true on
rows that break the rule. Messages are Chinese SQL expressions shown to departments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from hub.registry.models import Field, Rule, Source
from hub.warehouse import lit, q

VALID_ID = "CASE WHEN citizen_id__problem IS NULL THEN citizen_id__v END"

FORMAT_RULE = {
    "date": ("date_invalid", "日期无法识别或不存在"),
    "phone": ("phone_invalid", "电话号码格式不正确（应为11位手机号或带区号的固定电话）"),
    "integer": ("integer_invalid", "应为整数"),
    "decimal": ("decimal_invalid", "应为数字金额"),
    "orgunit": (
        "orgunit_unknown",
        "不是本区已登记的社区或网格，或该名称在本区不止一个（请写明街道，如 某某街道和平社区）",
    ),
}
ID_MESSAGES = {
    "cn_id_format": "身份证号码格式不正确（应为18位，或15位旧号码）",
    "cn_id_birthdate": "身份证号码中的出生日期无效",
    "cn_id_checksum": "身份证号码校验位错误",
}


@dataclass(frozen=True)
class Check:
    """One row-level rule of one field: `predicate` is true where a row breaks it."""

    field: str
    kind: str  # the rule kind in fields.yaml (required, format, range, ...)
    rule: str  # SQL expression giving the rule name (most are literals)
    severity: str
    predicate: str
    message: str  # SQL expression
    nulls_value: bool = True  # a flagged value is withheld from staged


def col(field: str, part: str) -> str:
    return q(f"{field}__{part}")


def source_checks(src: Source, fields: Mapping[str, Field]) -> list[Check]:
    """Every row-level check of a source's mapped fields, at the source's channel."""
    mapped = {c.field: fields[c.field] for c in src.mapped if c.field}
    has_id = "citizen_id" in mapped
    return [
        c
        for col_ in src.mapped
        for c in checks_for(fields[col_.field or ""], has_id, src.channel, mapped)
    ]


def checks_for(
    f: Field, has_id: bool, channel: str = "file", mapped: Mapping[str, Field] | None = None
) -> list[Check]:
    """Every row-level check of `f` for rows arriving through `channel`; format checks exist
    even where no rule is written. `mapped` are the source's fields (a waiver needs its own)."""
    out: list[Check] = []
    raw, v = col(f.name, "raw"), col(f.name, "v")
    fmt_rule = f.rule("format")
    req = f.rule("required")
    if req:
        out.append(
            Check(
                f.name,
                "required",
                lit("required_missing"),
                req.severity_in(channel),
                f"hub_clean({raw}) IS NULL",
                lit(f"{f.label}为空（必填项）"),
                nulls_value=False,
            )
        )
    fmt_sev = fmt_rule.severity_in(channel) if fmt_rule else "warning"
    out.extend(_format_check(f, raw, v, fmt_sev))
    for rule in f.rules:
        check = _rule_check(f, rule, v, has_id, channel)
        if check:
            out.append(check)
    return [c for check in out for c in _waive(check, f, mapped or {})]


def _waive(check: Check, f: Field, mapped: Mapping[str, Field]) -> list[Check]:
    """An error a row may waive (无证 / 号码待核) becomes a warning on the rows that do."""
    rule = f.rule(check.kind)
    waiver = mapped.get(rule.waived_by or "") if rule else None
    if check.severity != "error" or waiver is None:
        return [check]
    waived = f"coalesce({col(waiver.name, 'v')}, false)"
    hint = lit(f"（无证或号码待核的，请在「{waiver.label}」选「是」）")
    return [
        replace(
            check,
            predicate=f"({check.predicate}) AND NOT {waived}",
            message=f"{check.message} || {hint}",
        ),
        replace(check, severity="warning", predicate=f"({check.predicate}) AND {waived}"),
    ]


def _unparsed(raw: str, v: str) -> str:
    """Written but not understood. The value is tested first: only the few rows without one
    pay for cleaning the raw text again (a CASE skips it, an AND would not)."""
    return f"CASE WHEN {v} IS NULL THEN hub_clean({raw}) IS NOT NULL ELSE false END"


def _format_check(f: Field, raw: str, v: str, sev: str) -> list[Check]:
    if f.normalize == "cn_id":
        problem = col(f.name, "problem")
        msg = (
            f"CASE {problem} "
            + " ".join(f"WHEN {lit(k)} THEN {lit(m)}" for k, m in ID_MESSAGES.items())
            + " END"
        )
        msg = (
            f"{msg} || CASE WHEN {problem} = 'cn_id_checksum' THEN '（按前17位应为 ' || "
            f"hub_id_check({v}) || '）' ELSE '' END"
        )
        return [Check(f.name, "format", problem, sev, f"{problem} IS NOT NULL", msg)]
    if f.normalize in ("code", "boolean"):
        msg = f"'「' || hub_clean({raw}) || '」不在代码表《{f.label}》中'"
        return [
            Check(
                f.name,
                "format",
                lit("code_unknown"),
                sev,
                _unparsed(raw, v),
                msg,
            )
        ]
    if f.normalize in FORMAT_RULE:
        rule, text = FORMAT_RULE[f.normalize]
        return [
            Check(
                f.name,
                "format",
                lit(rule),
                sev,
                _unparsed(raw, v),
                lit(f"{f.label}：{text}"),
            )
        ]
    return []


def _rule_check(f: Field, rule: Rule, v: str, has_id: bool, channel: str) -> Check | None:
    if rule.kind == "pattern":
        return Check(
            f.name,
            "pattern",
            lit("pattern_mismatch"),
            rule.severity_in(channel),
            f"{v} IS NOT NULL AND NOT regexp_full_match(CAST({v} AS VARCHAR), {lit(rule.pattern or '')})",
            lit(rule.message or f"{f.label}格式不符合要求"),
        )
    if rule.kind == "range":
        conds = []
        for bound, op in ((rule.min, "<"), (rule.max, ">")):
            if bound is not None:
                conds.append(f"{v} {op} {bound_sql(f, bound)}")
        text = f"{f.label}超出合理范围（{rule.min if rule.min is not None else ''}～{rule.max if rule.max is not None else ''}）"
        return Check(
            f.name,
            "range",
            lit("out_of_range"),
            rule.severity_in(channel),
            f"{v} IS NOT NULL AND ({' OR '.join(conds)})",
            lit(text),
        )
    if rule.kind == "agrees_with_citizen_id" and has_id and f.name != "citizen_id":
        return _agreement(f, rule, channel)
    if rule.kind == "unique_in_batch":
        return Check(
            f.name,
            "unique_in_batch",
            lit("duplicate_in_batch"),
            rule.severity_in(channel),
            f"{col(f.name, 'dups')} > 1",
            lit(f"同一文件中{f.label}重复出现"),
            nulls_value=False,
        )
    return None


def agreement_terms(f: Field) -> tuple[str, str, str, str] | None:
    """(value, expected from the ID, rule name, text) of an agrees_with_citizen_id rule, or
    None where the ID says nothing about `f`."""
    v = col(f.name, "v")
    if f.type == "date":  # 1973年 agrees with any day of 1973
        # a date equal to the ID's is as precise as written whatever the precision: only
        # the other rows pay for reading the precision off the raw text again
        birth = f"hub_id_birth({VALID_ID})"
        precise = f"hub_as_precise(hub_date_text({col(f.name, 'raw')}), {birth})"
        expect = f"CASE WHEN {v} = {birth} THEN {v} ELSE {precise} END"
        return v, expect, "birth_date_mismatch", "出生日期与身份证号码不一致"
    if f.name == "gender":
        return v, f"hub_id_gender({VALID_ID})", "gender_mismatch", "性别与身份证号码不一致"
    if f.normalize == "cert_no":
        return f"substr({v}, 1, 18)", VALID_ID, "cert_mismatch", "证件号码前18位与身份证号码不一致"
    return None


def _agreement(f: Field, rule: Rule, channel: str) -> Check | None:
    terms = agreement_terms(f)
    if terms is None:
        return None
    v, expect, name, text = terms
    msg = f"{lit(f.label + '：' + text + '（身份证号码对应 ')} || CAST({expect} AS VARCHAR) || '）'"
    return Check(
        f.name,
        "agrees_with_citizen_id",
        lit(name),
        rule.severity_in(channel),
        f"{VALID_ID} IS NOT NULL AND {v} IS NOT NULL AND {v} <> {expect}",
        msg,
    )


def bound_sql(f: Field, value: float | str) -> str:
    if f.type == "date":
        return "current_date" if value == "today" else f"DATE {lit(str(value))}"
    return str(value)
