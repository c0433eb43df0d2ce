"""A report's population written the way a department says it, and said back in Chinese.

`hub report propose --population` takes conditions joined by ；/; or 且, each one of:
    救助类型=城市低保,农村低保     a code-list field is one of these (labels or codes; in / 为 / ：)
    残疾证号 有值 / 残疾证号 无值     the field has a value, or has none (present / absent)
    年龄>=80, 年龄<60, 年龄 60-79    age at the end of the reporting period
Fields are named by their label or their name. The result is the report condition language of
`hub.registry.reports`, so a proposal's population is checked and computed like any report's.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from hub.registry.loader import Registry
from hub.registry.models import Field
from hub.registry.reports import AgeRange, Condition

_SPLIT = re.compile(r"\s*(?:;|；|\s且\s|&)\s*")
_AGE = re.compile(r"^(?:年龄|age)\s*(>=|<=|>|<|=|≥|≤)?\s*(\d{1,3})(?:\s*[-~至到]\s*(\d{1,3}))?$")
_PRESENT = re.compile(r"^(.+?)\s*(有值|非空|present|无值|为空|absent)$")
_IN = re.compile(r"^(.+?)\s*(?:=|＝|:|：|\s+in\s+|\s*为\s*)\s*(.+)$")
_LIST = re.compile(r"\s*[,，、|/]\s*")


class PopulationError(ValueError):
    pass


def parse_population(text: str, registry: Registry) -> list[Condition]:
    """The conditions of `text` (all must hold); a clear error names the part it cannot read."""
    out: list[Condition] = []
    for part in (p for p in _SPLIT.split(text.strip()) if p):
        try:
            out.append(_condition(part, registry))
        except ValidationError:
            raise PopulationError(f"人群条件「{part}」：年龄须在 0–130 岁之间") from None
    for c in out:
        lo, hi = (c.age.min, c.age.max) if c.age is not None else (None, None)
        if lo is not None and hi is not None and lo > hi:
            raise PopulationError(f"人群条件：年龄下限 {lo} 大于上限 {hi}，没有人符合")
    return out


def _condition(part: str, registry: Registry) -> Condition:
    if m := _AGE.match(part):
        op, a, b = m.group(1) or "=", int(m.group(2)), m.group(3)
        if b is not None:
            return Condition(age=AgeRange(min=a, max=int(b)))
        bounds = {
            ">=": (a, None),
            "≥": (a, None),
            ">": (a + 1, None),
            "<=": (None, a),
            "≤": (None, a),
            "<": (None, a - 1),
            "=": (a, a),
        }[op]
        return Condition(age=AgeRange(min=bounds[0], max=bounds[1]))
    if m := _PRESENT.match(part):
        f = _field(m.group(1), part, registry)
        return Condition(field=f.name, present=m.group(2) in ("有值", "非空", "present"))
    if m := _IN.match(part):
        f = _field(m.group(1), part, registry)
        if not f.codelist:
            raise PopulationError(
                f"人群条件「{part}」：{f.label} 不是代码字段，只能写「{f.label} 有值」或「{f.label} 无值」"
            )
        entries = registry.codelists[f.codelist].entries
        codes = []
        values = [v for v in _LIST.split(m.group(2).strip()) if v]
        if not values:
            raise PopulationError(f"人群条件「{part}」：等号后须写至少一个取值")
        for v in values:
            code = next((e.code for e in entries if v in (e.code, e.label, *e.synonyms)), None)
            if code is None:
                allowed = "、".join(e.label for e in entries)
                raise PopulationError(
                    f"人群条件「{part}」：「{v}」不在代码表《{registry.codelists[f.codelist].label}》中（可选：{allowed}）"
                )
            codes.append(code)
        return Condition.model_validate({"field": f.name, "in": codes})
    raise PopulationError(
        f"看不懂人群条件「{part}」：请写成「救助类型=城市低保」「残疾证号 有值」「年龄>=80」，多个条件用；分隔"
    )


def _field(text: str, part: str, registry: Registry) -> Field:
    key = text.strip()
    f = registry.fields.get(key) or next(
        (f for f in registry.fields.values() if key in (f.label, *f.aliases)), None
    )
    if f is None:
        raise PopulationError(
            f"人群条件「{part}」：没有字段「{key}」（写字段的中文名，如 救助类型）"
        )
    return f


def describe_population(conditions: list[Condition], registry: Registry) -> str:
    """The population in words: 「救助类型为城市低保；年龄 80 岁及以上」, or 全区居民."""
    parts = []
    for c in conditions:
        if c.age is not None:
            lo, hi = c.age.min, c.age.max
            if lo is not None and hi is not None:
                parts.append(f"年龄 {lo} 岁" if lo == hi else f"年龄 {lo}–{hi} 岁")
            elif lo is not None:
                parts.append(f"年龄 {lo} 岁及以上")
            else:
                parts.append(f"年龄 {hi} 岁及以下")
            continue
        f = registry.fields[c.field or ""]
        if c.present is not None:
            parts.append(f"{f.label}{'有值' if c.present else '无值'}")
            continue
        labels = {e.code: e.label for e in registry.codelists[f.codelist or ""].entries}
        parts.append(f"{f.label}为{'或'.join(labels.get(v, v) for v in c.in_ or [])}")
    return "；".join(parts) or "全区居民"
