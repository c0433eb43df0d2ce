"""Data-sharing grants (共享授权) as data: one YAML per grant under `schemas/shares/`.

A grant names the department, the dataset, the share type (无条件共享 / 有条件共享 /
不予共享), the fields, which rows (a jurisdiction of streets or communities and/or a
population in the report condition language), the fields shown unmasked despite being
sensitive, the purpose and the expiry date.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field as PydField
from pydantic import field_validator

from hub.registry.models import _NAME, Strict
from hub.registry.reports import Condition

ShareType = Literal["无条件共享", "有条件共享", "不予共享"]


class RowScope(Strict):
    jurisdiction: list[str] = PydField(default_factory=list)  # org codes; empty: the district
    population: list[Condition] = PydField(default_factory=list)


class Share(Strict):
    name: str  # also the table name the department queries
    department: str
    title: str
    # person: the district's records; city_person: a city deployment's city view (hub.city)
    dataset: Literal["person", "city_person"] = "person"
    share_type: ShareType
    purpose: str
    fields: list[str]
    rows: RowScope = PydField(default_factory=RowScope)
    unmasked: list[str] = PydField(default_factory=list)  # sensitive fields shown in full
    expires: date | None = None

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"授权名 {v!r} 须为 snake_case（它也是部门查询时的表名）")
        return v

    def active(self, today: date) -> bool:
        return self.share_type != "不予共享" and (self.expires is None or today <= self.expires)
