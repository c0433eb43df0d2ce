"""The district's own org-unit list, in the layout the National Bureau of Statistics publishes
(统计用区划代码, 12 digits: county 6 + town/street 3 + village/community 3; 名称; optionally
城乡分类代码), plus optional 15-digit grid rows. The hierarchy comes from the codes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.ingest.read import ReadError, read_file
from hub.registry.config import Limits
from hub.registry.models import to_halfwidth
from hub.registry.orgunits import Community, Grid, OrgTree, Street, short_name

_DIGITS = re.compile(r"^\d+$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)


@dataclass
class OrgImport:
    """What a file said: the new tree, and the rows it could not use (with why)."""

    tree: OrgTree
    errors: list[str] = field(default_factory=list)
    other_district: int = 0  # rows of other counties (a city-wide list): skipped
    rows: int = 0


@dataclass
class OrgChange:
    level: str  # 街道 / 社区 / 网格
    code: str
    name: str
    old_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "code": self.code, "name": self.name, "old": self.old_name}


@dataclass
class OrgDiff:
    added: list[OrgChange] = field(default_factory=list)
    renamed: list[OrgChange] = field(default_factory=list)
    removed: list[OrgChange] = field(default_factory=list)

    @property
    def removed_codes(self) -> set[str]:
        return {c.code for c in self.removed}


def read_orgunits(path: Path, current: OrgTree, limits: Limits | None = None) -> OrgImport:
    """Build the district's tree from `path`; units the file does not name keep nothing, the
    sample-only `road` and the district's aliases of units that stay are kept."""
    ft = read_file(path, limits=limits)
    code_col, name_col, urban_col = _columns(path, ft.headers)
    table = ft.table.to_pydict()  # an org-unit list is a few thousand rows at most
    district = current.district
    old_streets = {s.code: s for s in current.streets}
    old_comms = {c.code: c for c in current.communities}
    streets: dict[str, Street] = {}
    comms: dict[str, Community] = {}
    grids: dict[str, list[Grid]] = {}
    out = OrgImport(tree=current)
    seen: set[str] = set()
    urban = table[urban_col] if urban_col else [None] * len(table[code_col])
    pending: list[tuple[int, str, str, str | None]] = []
    for row, raw_code, raw_name, ur in zip(
        table["_source_row"], table[code_col], table[name_col], urban, strict=True
    ):
        where = f"文件 {path.name} 第 {row} 行"
        code = _code(raw_code)
        name = (raw_name or "").strip()
        if not code and not name:
            continue
        out.rows += 1
        if code is None or code.startswith("!"):
            why = "代码被存成了科学计数法，请把该列设为文本后重新导出" if code else ""
            out.errors.append(f"{where}「{code_col}」：{why or f'代码 {raw_code!r} 不是数字'}")
            continue
        if len(code) not in (6, 9, 12, 15):
            out.errors.append(
                f"{where}「{code_col}」：代码 {code} 应为 12 位统计用区划代码（网格为 15 位）"
            )
            continue
        if not code.startswith(district.code):
            out.other_district += 1
            continue
        if not name:
            out.errors.append(f"{where}「{name_col}」：代码 {code} 没有名称")
            continue
        code = _unit_code(code)
        if code in seen:
            out.errors.append(f"{where}「{code_col}」：代码 {code} 重复，只用第一次出现的一行")
            continue
        seen.add(code)
        pending.append((row, code, name, (ur or "").strip() or None))
    for row, code, name, ur in sorted(pending, key=lambda p: (len(p[1]), p[1])):
        where = f"文件 {path.name} 第 {row} 行"
        if len(code) == 6:
            continue  # the county's own row: the deployment already names it (hub init)
        if len(code) == 9:
            old = old_streets.get(code)
            streets[code] = Street(
                code=code, name=short_name(name), aliases=_aliases(name, old), communities=[]
            )
        elif len(code) == 12:
            if code[:9] not in streets:
                out.errors.append(f"{where}：社区 {name}（{code}）的上级街道 {code[:9]} 不在表中")
                continue
            oldc = old_comms.get(code)
            comms[code] = Community(
                code=code,
                name=short_name(name),
                road=oldc.road if oldc else None,
                urban_rural=ur,
                aliases=_aliases(name, oldc),
            )
        else:
            if code[:12] not in comms:
                out.errors.append(f"{where}：网格 {name}（{code}）的上级社区 {code[:12]} 不在表中")
                continue
            grids.setdefault(code[:12], []).append(Grid(code=code, name=name))
    if not streets:
        why = (
            f"；有 {len(comms)} 个社区/村，但它们的街道行（代码末 3 位为 000，如 "
            f"{next(iter(comms))[:9]}000）都不在表中"
            if comms
            else ""
        )
        rows = "".join(f"\n  {e}" for e in out.errors[:10])
        raise ReadError(
            f"文件 {path.name}：没有区县 {district.code}（{district.name}）的街道或社区"
            f"（共 {out.rows} 行，其中其他区县 {out.other_district} 行）{why}{rows}"
        )
    file_has_grids = bool(grids)  # a list without grid rows keeps the grids known so far
    members: dict[str, list[Community]] = {code: [] for code in streets}
    for code, c in comms.items():
        kept = old_comms[code].grids if code in old_comms and not file_has_grids else []
        members[code[:9]].append(c.model_copy(update={"grids": grids.get(code, kept)}))
    out.tree = OrgTree(
        district=district,
        streets=[s.model_copy(update={"communities": members[k]}) for k, s in streets.items()],
    )
    return out


def diff_trees(old: OrgTree, new: OrgTree) -> OrgDiff:
    """Added, renamed and removed units at each level, by code."""
    diff = OrgDiff()
    for level, before, after in (
        ("街道", _names(old.streets), _names(new.streets)),
        ("社区", _names(old.communities), _names(new.communities)),
        (
            "网格",
            _names(g for c in old.communities for g in c.grids),
            _names(g for c in new.communities for g in c.grids),
        ),
    ):
        for code, name in after.items():
            if code not in before:
                diff.added.append(OrgChange(level, code, name))
            elif before[code] != name:
                diff.renamed.append(OrgChange(level, code, name, before[code]))
        diff.removed += [OrgChange(level, c, n) for c, n in before.items() if c not in after]
    return diff


def tree_yaml(tree: OrgTree, source: str) -> str:
    """orgunits.yaml as the loader reads it, with a header naming where it came from."""
    import yaml

    doc = tree.model_dump(exclude_none=True)
    for s in doc["streets"]:
        if not s.get("aliases"):
            s.pop("aliases", None)
        for c in s["communities"]:
            for key in ("aliases", "grids"):
                if not c.get(key):
                    c.pop(key, None)
    head = (
        f"# {tree.district.name}（{tree.district.code}）的行政区划：区县 -> 街道/乡镇 -> 社区/村 -> 网格。\n"
        f"# 由 hub orgunits import 从 {source} 生成；再次导入会报告新增、改名和撤销的单位。\n"
    )
    return head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def _columns(path: Path, headers: list[str]) -> tuple[str, str, str | None]:
    code = next((h for h in headers if "代码" in h and "城乡" not in h), None)
    code = code or next((h for h in headers if h.lower() in ("code", "编码", "区划编码")), None)
    name = next((h for h in headers if "名称" in h or h in ("名字", "单位", "name")), None)
    urban = next((h for h in headers if "城乡" in h), None)
    if code is None or name is None:
        raise ReadError(
            f"文件 {path.name}：找不到「统计用区划代码」和「名称」两列（表头：{'、'.join(headers)}）"
        )
    return code, name, urban


def _code(value: Any) -> str | None:
    text = re.sub(r"\s", "", to_halfwidth(str(value or "")))  # ６５０１０５… from a CJK IME
    text = text.removesuffix(".0")
    if _SCIENTIFIC.match(text):
        return "!" + text
    return text if _DIGITS.match(text) else None


def _unit_code(code: str) -> str:
    """12-digit NBS codes pad higher levels with zeros: 650105000000 is the county,
    650105001000 a street; grids keep 15 digits."""
    if len(code) == 12 and code.endswith("000000"):
        return code[:6]
    if len(code) == 12 and code.endswith("000"):
        return code[:9]
    return code


def _aliases(official: str, old: Street | Community | None) -> list[str]:
    """The official long form, the district's spellings, and a renamed unit's old name: files
    and registrations written before the rename still name it so."""
    names = [official.strip()] if short_name(official) != official.strip() else []
    previous = [old.name] if old and old.name != short_name(official) else []
    for a in [*(old.aliases if old else []), *previous]:
        if a not in names:
            names.append(a)
    return names


def _names(units: Any) -> dict[str, str]:
    return {u.code: u.name for u in units}
