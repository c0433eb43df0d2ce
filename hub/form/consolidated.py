"""The consolidated form (社区一张表), derived from the department reports.

Every field some report needs is asked once, in the section its data element belongs to,
with its code list, its rules, and the reports that use it. Fields that a department is
the authority for (公安 for identity, 民政 for assistance …) are shown, not edited: staff
cannot overrule the register; where no value exists yet (a new resident) they fill it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.registry.loader import Registry
from hub.registry.models import Field
from hub.registry.reports import form_field_names

GROUP_ORDER = [
    "基本信息",
    "联系方式",
    "户籍与住址",
    "家庭",
    "就业与社保",
    "救助",
    "残疾",
    "健康与照护",
    "优抚",
]


@dataclass
class FormField:
    name: str
    label: str
    group: str
    type: str
    codelist: str | None
    choices: list[tuple[str, str]]  # (code, label) for code and boolean fields
    required: bool
    rules: list[str]  # human-readable, from fields.yaml
    reports: list[str]  # report titles that use it
    authority: list[str] = field(default_factory=list)  # departments whose value stands
    authority_sources: list[str] = field(default_factory=list)  # their registered sources

    def to_json(self) -> dict[str, Any]:
        return self.__dict__ | {"choices": [{"code": c, "label": lab} for c, lab in self.choices]}


@dataclass
class ConsolidatedForm:
    groups: dict[str, list[FormField]]

    @property
    def fields(self) -> list[FormField]:
        return [f for fs in self.groups.values() for f in fs]

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": len(self.fields),
            "groups": [
                {"group": g, "fields": [f.to_json() for f in fs]} for g, fs in self.groups.items()
            ],
        }


def derive_form(registry: Registry) -> ConsolidatedForm:
    """Every field any report needs, once, grouped; the resident's key fields first."""
    groups: dict[str, list[FormField]] = {g: [] for g in GROUP_ORDER}
    for name in form_field_names(registry.fields, registry.reports):
        f = registry.fields[name]
        titles = [r.title for r in registry.reports.values() if name in r.fields]
        groups.setdefault(f.group, []).append(_form_field(registry, f, titles))
    return ConsolidatedForm({g: fs for g, fs in groups.items() if fs})


def _form_field(registry: Registry, f: Field, reports: list[str]) -> FormField:
    choices: list[tuple[str, str]] = []
    if f.codelist:
        choices = [(e.code, e.label) for e in registry.codelists[f.codelist].entries]
    held_by = registry.authority_sources(f.name)
    departments = list(dict.fromkeys(registry.sources[s].department for s in held_by))
    return FormField(
        name=f.name,
        label=f.label,
        group=f.group,
        type=f.type,
        codelist=f.codelist,
        choices=choices,
        required=f.required,
        rules=[_describe(r.kind, r) for r in f.rules],
        reports=reports,
        authority=departments,
        authority_sources=held_by,
    )


def _describe(kind: str, rule: Any) -> str:
    if kind == "required":
        return "必填"
    if kind == "format":
        return "格式须规范"
    if kind == "range":
        return f"取值范围 {rule.min if rule.min is not None else ''}～{rule.max if rule.max is not None else ''}"
    if kind == "pattern":
        return rule.message or "格式须符合要求"
    if kind == "agrees_with_citizen_id":
        return "须与身份证号码一致"
    if kind == "unique_in_batch":
        return "同一次提交中不重复"
    return kind
