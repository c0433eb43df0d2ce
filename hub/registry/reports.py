"""Department reports (报表) as data: who is in one, which columns in which order, how often.

A report's population is a list of conditions, all of which must hold:
    {field: assistance_type, in: ["01"]}    the field's code is one of these
    {field: disability_cert_no, present: true}   the field has a value (false: has none)
    {age: {min: 80}}                         age at the end of the reporting period
Columns are fields, or one of the computed values `seq` (序号) and `age` (年龄).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import Field as PydField
from pydantic import field_validator, model_validator

from hub.registry.models import _NAME, Strict

Period = Literal["monthly", "quarterly", "yearly"]
PER_MONTH = {"monthly": 1.0, "quarterly": 1 / 3, "yearly": 1 / 12}


class AgeRange(Strict):
    min: int | None = PydField(default=None, ge=0, le=130)
    max: int | None = PydField(default=None, ge=0, le=130)


class Condition(Strict):
    field: str | None = None
    in_: list[str] | None = PydField(default=None, alias="in")
    present: bool | None = None
    age: AgeRange | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        if self.age is not None:
            if self.field or self.in_ is not None or self.present is not None:
                raise ValueError("age 条件不能与 field/in/present 写在同一条中")
            return self
        if not self.field:
            raise ValueError("条件须写 field（配合 in 或 present），或写 age")
        if (self.in_ is None) == (self.present is None):
            raise ValueError(f"字段 {self.field} 的条件须且只能写 in 或 present 之一")
        return self


class ReportColumn(Strict):
    header: str
    field: str | None = None
    # computed: 序号, age at the period's end, members of the resident's household
    value: Literal["seq", "age", "members"] | None = None
    show: Literal["label", "code"] = "label"  # code fields: the Chinese label, or the code
    # summed in the 合计 row: amounts a department adds up, never per-member repeats of a
    # household's figure (家庭人口数) or per-person facts (年龄)
    total: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> ReportColumn:
        if (self.field is None) == (self.value is None):
            raise ValueError(
                f"列「{self.header}」须且只能写 field 或 value（seq / age / members）之一"
            )
        return self


class Report(Strict):
    """One department report (one YAML file under `schemas/reports/`)."""

    name: str
    department: str
    title: str
    period: Period
    population: list[Condition] = PydField(default_factory=list)
    columns: list[ReportColumn]
    sheet: str | None = None
    # 制表单位: by default the district office of the department (青禾区民政局)
    issuer: str | None = None
    # the sign-off line under the table, left blank to be filled in by hand
    signatures: list[str] = PydField(default_factory=lambda: ["填表人", "审核人", "联系电话"])
    # the catalogue (报表目录清单): why the report exists, whether it is still in use, and who
    # let it in (a report approved through 报表准入 says so)
    basis: str | None = None  # legal basis or purpose
    status: Literal["在用", "已停用"] = "在用"
    approved_by: str | None = None
    approved_at: date | None = None
    # the fields community staff are asked for on the one form; None: all of its fields. A
    # report let in through 报表准入 asks only what the hub did not hold
    asks: list[str] | None = None

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"报表名 {v!r} 须为 snake_case")
        return v

    @property
    def fields(self) -> list[str]:
        """The data elements this report asks for (computed columns excluded), in order."""
        return [c.field for c in self.columns if c.field]

    @property
    def asked(self) -> list[str]:
        """The fields the one form asks for this report's sake."""
        return self.fields if self.asks is None else [f for f in self.fields if f in self.asks]


# who the form is about and where they live: always asked, so a new resident can be added;
# id_unverified is the worker's explicit 无证 / 号码待核 for a resident without a valid ID
FORM_KEYS = ("citizen_id", "id_unverified", "name", "gender", "birth_date", "community_code")


def form_field_names(fields: Mapping[str, Any], reports: Mapping[str, Report]) -> list[str]:
    """Every field some report needs (and the keys), once, in registry order."""
    used = set(FORM_KEYS) | {
        name for rep in reports.values() if rep.status == "在用" for name in rep.asked
    }
    return [name for name in fields if name in used]
