"""The administrative tree: district -> street/town -> community/village -> grid."""

from __future__ import annotations

from pydantic import Field as PydField
from pydantic import model_validator

from hub.registry.models import Strict


class Grid(Strict):
    code: str
    name: str


class Community(Strict):
    code: str
    name: str
    road: str | None = None
    grids: list[Grid] = PydField(default_factory=list)


class Street(Strict):
    code: str
    name: str
    communities: list[Community]


class District(Strict):
    code: str
    name: str
    province: str
    city: str


class OrgTree(Strict):
    """The administrative tree: district -> street/town -> community/village -> grid."""

    district: District
    streets: list[Street]

    @model_validator(mode="after")
    def _codes_nest(self) -> OrgTree:
        seen: set[str] = set()
        for s in self.streets:
            _nest(s.code, self.district.code, s.name, seen)
            for c in s.communities:
                _nest(c.code, s.code, c.name, seen)
                for g in c.grids:
                    _nest(g.code, c.code, g.name, seen)
        return self

    @property
    def communities(self) -> list[Community]:
        return [c for s in self.streets for c in s.communities]

    def street_of(self, community_code: str) -> Street:
        return next(s for s in self.streets if any(c.code == community_code for c in s.communities))


def _nest(code: str, parent: str, name: str, seen: set[str]) -> None:
    if not code.startswith(parent) or len(code) != len(parent) + 3:
        raise ValueError(f"{name} 的代码 {code} 应为上级代码 {parent} 加 3 位数字")
    if code in seen:
        raise ValueError(f"代码 {code} 重复")
    seen.add(code)
