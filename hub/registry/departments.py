"""The district's departments (schemas/departments.yaml): one name each, the short names files
and people use for it, and its kind, by which fields declare their authority."""

from __future__ import annotations

from typing import Literal

from pydantic import Field as PydField
from pydantic import model_validator

from hub.registry.models import Strict

# What a department is, whatever the district calls it: authority is declared by kind, so any
# source of the district's 公安 inherits what 公安 owns.
Kind = Literal["公安", "民政", "卫健", "残联", "人社", "退役军人", "街道", "其他"]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


class Department(Strict):
    code: str
    name: str
    short: list[str] = PydField(default_factory=list)
    kind: Kind

    @property
    def spellings(self) -> list[str]:
        return [self.name, *self.short]


class Departments(Strict):
    """Every department sources, reports and shares may name.

    Example:
        >>> d = Departments(departments=[Department(code="mz", name="民政局", short=["民政"], kind="民政")])
        >>> d.resolve("民政").name
        '民政局'
    """

    departments: list[Department]

    @model_validator(mode="after")
    def _unique(self) -> Departments:
        seen: dict[str, str] = {}
        for d in self.departments:
            for key in (d.code, *d.spellings):
                if key in seen and seen[key] != d.code:
                    raise ValueError(f"「{key}」同时属于部门 {seen[key]} 和 {d.code}")
                seen[key] = d.code
        return self

    def with_streets(self, streets: list[tuple[str, str, set[str]]]) -> Departments:
        """Each street or town office of the org tree is a department of kind 街道 (青云街道 /
        青云街道办事处), unless the registry already names it."""
        extra = [
            Department(code=code, name=name, short=sorted(spellings - {name}), kind="街道")
            for code, name, spellings in streets
            if not any(self.resolve(s) for s in spellings | {name, code})
        ]
        return Departments(departments=[*self.departments, *extra]) if extra else self

    def resolve(self, name: str) -> Department | None:
        """The department a name (its code, name or a short name) stands for."""
        key = name.strip()
        return next((d for d in self.departments if key == d.code or key in d.spellings), None)

    def names(self) -> str:
        return "、".join(d.name for d in self.departments)
