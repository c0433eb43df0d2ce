"""Turn a field's rules into SQL predicates over the normalizing table `_n`.

`_n` has, per mapped field f: `f__raw` (the cell as written), `f__v` (normalized, NULL if it
could not be), for IDs `f__problem`, and for unique rules `f__dups`. A predicate is true on
rows that break the rule. Messages are Chinese SQL expressions shown to departments.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.registry.models import Field, Rule
from hub.warehouse import lit, q

VALID_ID = "CASE WHEN citizen_id__problem IS NULL THEN citizen_id__v END"

FORMAT_RULE = {
    "date": ("date_invalid", "日期无法识别或不存在"),
    "phone": ("phone_invalid", "电话号码格式不正确（应为11位手机号或带区号的固定电话）"),
    "integer": ("integer_invalid", "应为整数"),
    "decimal": ("decimal_invalid", "应为数字金额"),
    "orgunit": ("orgunit_unknown", "不是本区已登记的社区或网格"),
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


def checks_for(f: Field, has_id: bool) -> list[Check]:
    """Every row-level check of `f`; format checks exist even where no rule is written."""
    out: list[Check] = []
    raw, v = col(f.name, "raw"), col(f.name, "v")
    fmt_rule = f.rule("format")
    fmt_sev = fmt_rule.severity if fmt_rule else "warning"
    if f.rule("required"):
        sev = f.rule("required").severity  # type: ignore[union-attr]
        out.append(
            Check(
                f.name,
                "required",
                lit("required_missing"),
                sev,
                f"hub_clean({raw}) IS NULL",
                lit(f"{f.label}为空（必填项）"),
                nulls_value=False,
            )
        )
    out.extend(_format_check(f, raw, v, fmt_sev))
    for rule in f.rules:
        check = _rule_check(f, rule, v, has_id)
        if check:
            out.append(check)
    return out


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
                f"hub_clean({raw}) IS NOT NULL AND {v} IS NULL",
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
                f"hub_clean({raw}) IS NOT NULL AND {v} IS NULL",
                lit(f"{f.label}：{text}"),
            )
        ]
    return []


def _rule_check(f: Field, rule: Rule, v: str, has_id: bool) -> Check | None:
    if rule.kind == "pattern":
        return Check(
            f.name,
            "pattern",
            lit("pattern_mismatch"),
            rule.severity,
            f"{v} IS NOT NULL AND NOT regexp_full_match(CAST({v} AS VARCHAR), {lit(rule.pattern or '')})",
            lit(rule.message or f"{f.label}格式不符合要求"),
        )
    if rule.kind == "range":
        conds = []
        for bound, op in ((rule.min, "<"), (rule.max, ">")):
            if bound is not None:
                conds.append(f"{v} {op} {_bound(f, bound)}")
        text = f"{f.label}超出合理范围（{rule.min if rule.min is not None else ''}～{rule.max if rule.max is not None else ''}）"
        return Check(
            f.name,
            "range",
            lit("out_of_range"),
            rule.severity,
            f"{v} IS NOT NULL AND ({' OR '.join(conds)})",
            lit(text),
        )
    if rule.kind == "agrees_with_citizen_id" and has_id and f.name != "citizen_id":
        return _agreement(f, rule, v)
    if rule.kind == "unique_in_batch":
        return Check(
            f.name,
            "unique_in_batch",
            lit("duplicate_in_batch"),
            rule.severity,
            f"{col(f.name, 'dups')} > 1",
            lit(f"同一文件中{f.label}重复出现"),
            nulls_value=False,
        )
    return None


def _agreement(f: Field, rule: Rule, v: str) -> Check | None:
    if f.type == "date":
        expect, name, text = (
            f"hub_id_birth({VALID_ID})",
            "birth_date_mismatch",
            "出生日期与身份证号码不一致",
        )
    elif f.name == "gender":
        expect, name, text = (
            f"hub_id_gender({VALID_ID})",
            "gender_mismatch",
            "性别与身份证号码不一致",
        )
    elif f.normalize == "cert_no":
        expect, name, text = VALID_ID, "cert_mismatch", "证件号码前18位与身份证号码不一致"
        v = f"substr({v}, 1, 18)"
    else:
        return None
    msg = f"{lit(f.label + '：' + text + '（身份证号码对应 ')} || CAST({expect} AS VARCHAR) || '）'"
    return Check(
        f.name,
        "agrees_with_citizen_id",
        lit(name),
        rule.severity,
        f"{VALID_ID} IS NOT NULL AND {v} IS NOT NULL AND {v} <> {expect}",
        msg,
    )


def _bound(f: Field, value: float | str) -> str:
    if f.type == "date":
        return "current_date" if value == "today" else f"DATE {lit(str(value))}"
    return str(value)
