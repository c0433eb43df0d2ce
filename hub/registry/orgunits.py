"""The administrative tree: district -> street/town -> community/village -> grid."""

from __future__ import annotations

from pydantic import Field as PydField
from pydantic import model_validator

from hub.registry.models import Strict

# What an official name ends with, and the spellings files use for the same unit: the short
# name plus each of these (和平社区 -> 和平社区居委会; 幸福村 -> 幸福村委会; 西山街道 -> 西山街道办事处).
_FORMS = {
    "社区": ("居民委员会", "居委会"),
    "村": ("民委员会", "委会", "村民委员会"),
    "街道": ("办事处",),
    "镇": ("人民政府",),
    "乡": ("人民政府",),
}
# suffixes stripped to reach the short name, longest first
_STRIP = (
    "社区居民委员会",
    "社区居委会",
    "村村民委员会",
    "村民委员会",
    "村委会",
    "居民委员会",
    "居委会",
    "街道办事处",
    "街道办",
    "人民政府",
    "办事处",
)
_RESTORE = {
    "社区居民委员会": "社区",
    "社区居委会": "社区",
    "村村民委员会": "村",
    "村民委员会": "村",
    "村委会": "村",
    "街道办事处": "街道",
    "街道办": "街道",
}


class Grid(Strict):
    code: str
    name: str


class Community(Strict):
    code: str
    name: str
    road: str | None = None  # the sample generator's street for addresses (optional)
    urban_rural: str | None = None  # NBS 城乡分类代码 (111 主城区 … 220 村庄)
    aliases: list[str] = PydField(default_factory=list)  # the district's other spellings
    grids: list[Grid] = PydField(default_factory=list)


class Street(Strict):
    code: str
    name: str
    aliases: list[str] = PydField(default_factory=list)
    communities: list[Community]


class District(Strict):
    code: str
    name: str
    province: str = ""
    city: str = ""


def short_name(name: str) -> str:
    """An official name without its committee / office suffix.

    Example:
        >>> [short_name(n) for n in ("和平社区居民委员会", "幸福村村民委员会", "西山街道办事处")]
        ['和平社区', '幸福村', '西山街道']
    """
    name = name.strip()
    for suffix in _STRIP:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + _RESTORE.get(suffix, "")
    return name


def office_names(name: str) -> set[str]:
    """How a street or town office is named as a department: 青云街道, 青云街道办事处, 临江镇
    人民政府 (never the bare 青云, which names the community as well)."""
    ends = ("街道", "办事处", "街道办", "镇", "乡", "人民政府")
    return {v for v in name_variants(name) if v.endswith(ends)}


def name_variants(name: str) -> set[str]:
    """Every spelling of a unit's name files use: official, short, the bare core (和平) and
    the short name with its committee or office suffix (和平社区居委会, 西山街道办事处)."""
    short = short_name(name)
    out = {name.strip(), short}
    for kind, forms in _FORMS.items():
        if short.endswith(kind) and len(short) > len(kind):
            core = short[: -len(kind)]
            if len(core) >= 2:  # 和平 alone, never a one-character core
                out.add(core)
            out |= {short + f for f in forms}
            if kind == "街道":
                out.add(core + "街道办")
            break
    return {v for v in out if v}


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
