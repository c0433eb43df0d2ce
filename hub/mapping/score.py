"""Content evidence for one (column, field) pair, and how it combines with header evidence.

Rules of thumb the numbers encode:
- an exact header with agreeing content is near-certain; with contradicting content it is
  not a match (a 身份证号 column full of 20-digit numbers is not citizen_id);
- a similar header needs content to agree before it is trusted;
- content alone maps a column only where the values are unmistakable (valid IDs, phones,
  a code list's labels, a date that is the ID's birth date) and point to a single field.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.mapping.profile import ColumnProfile
from hub.registry.loader import Registry
from hub.registry.models import Field

# Below this share, values contradict a field of that kind.
CONTRADICTS = {
    "cn_id": 0.5,
    "cert20": 0.5,
    "phone": 0.4,
    "date": 0.5,
    "code": 0.3,
    "orgunit": 0.3,
    "person_name": 0.3,
    "address": 0.2,
    "bank_account": 0.5,
    "bank_name": 0.3,
    "money": 0.5,
    "small_int": 0.5,
    "identifier": 0.3,
}
KIND_LABEL = {
    "cn_id": "有效的公民身份号码",
    "cert20": "20位残疾人证号（身份证号+类别+等级）",
    "phone": "手机或固定电话号码",
    "date": "可识别的日期",
    "person_name": "中文姓名",
    "address": "地址",
    "bank_account": "银行账号样式的长数字",
    "bank_name": "银行名称",
    "money": "金额",
    "small_int": "1–30 的整数",
    "identifier": "编号样式的字母数字",
}


@dataclass(frozen=True)
class ContentEvidence:
    share: float | None  # None: nothing to judge by (empty column, free text field)
    evidence: str | None


def content_evidence(p: ColumnProfile, f: Field, registry: Registry) -> ContentEvidence:
    """How well the column's values fit `f`."""
    if p.filled == 0:
        return ContentEvidence(None, "列中没有数据，无法从内容判断")
    kind = f.content_kind
    if kind == "code":
        share, _ = p.codelists.get(f.codelist or "", (0.0, 0.0))
        label = registry.codelists[f.codelist or ""].label
        return ContentEvidence(share, f"内容：{share:.0%} 属于代码表《{label}》")
    if kind == "orgunit":
        share = p.orgunits.get(f.orgunit_level or "", 0.0)
        return ContentEvidence(
            share, f"内容：{share:.0%} 是本区已登记的{_LEVEL[f.orgunit_level or '']}"
        )
    if kind not in KIND_LABEL:
        return ContentEvidence(None, None)
    share = p.shares.get(kind, 0.0)
    text = f"内容：{share:.0%} 为{KIND_LABEL[kind]}"
    if f.name == "birth_date" and p.birth_agreement is not None and share >= 0.5:
        text += f"，{p.birth_agreement:.0%} 与身份证号码中的出生日期一致"
        if p.birth_agreement < BIRTH_DISAGREES:
            # dates that are not the IDs' birth dates (登记日期 under a 出生日期 header) would
            # make every ID look wrong: the values contradict the field
            return ContentEvidence(p.birth_agreement, text + "，不是出生日期")
    return ContentEvidence(share, text)


BIRTH_DISAGREES = 0.2  # below this share of dates agreeing with the row's ID: not birth dates
_LEVEL = {"street": "街道", "community": "社区（村）", "grid": "网格"}


def combine(header: float, content: ContentEvidence, kind: str) -> float:
    """Confidence from header score (0-1, 1 = exact alias) and content share."""
    c = content.share
    if c is None:
        return round(header * 0.95, 3)
    floor = CONTRADICTS.get(kind, 0.3)
    if c < floor:
        return round(header * (0.25 + 0.5 * c), 3)  # contradicted: never above the threshold
    if c >= 0.8:
        return round(header + (1 - header) * 0.8 * c, 3)
    return round(header * (0.75 + 0.25 * c), 3)


def content_only(p: ColumnProfile, f: Field, registry: Registry) -> float:
    """Confidence from values alone, for fields content can name without a header."""
    if p.filled < 3:
        return 0.0
    if f.name == "birth_date" and (p.birth_agreement or 0) >= 0.8:
        return round(0.6 + 0.35 * (p.birth_agreement or 0), 3)
    if f.name == "gender" and (p.gender_agreement or 0) >= 0.9:
        return round(0.6 + 0.35 * (p.gender_agreement or 0), 3)
    kind = f.content_kind
    if kind == "code":
        return _code_only(p, f, registry)
    if kind == "orgunit":
        share = p.orgunits.get(f.orgunit_level or "", 0.0)
        others = [s for lvl, s in p.orgunits.items() if lvl != f.orgunit_level]
        # 所在地, 村居, 区划代码: names or codes of the district's units, whatever the header
        if share >= 0.8 and share - max(others, default=0.0) >= 0.3:
            return round(0.5 + 0.4 * share, 3)
        return 0.0
    if registry.mapping.content_defaults.get(kind) == f.name and p.shares.get(kind, 0) >= 0.9:
        return round(0.5 + 0.4 * p.shares[kind], 3)
    return 0.0


def address_only(p: ColumnProfile) -> float:
    """现在地址 / 地址 / AAE006 full of addresses: the values say what the header does not."""
    share = p.shares.get("address", 0.0)
    if p.filled < 3 or share < 0.8 or p.distinct < min(p.filled, 10) * 0.5:
        return 0.0
    return round(0.5 + 0.4 * share, 3)


def _code_only(p: ColumnProfile, f: Field, registry: Registry) -> float:
    """A code list's labels (not bare numbers) in most cells, and clearly no other list's."""
    users = [g for g in registry.fields.values() if g.codelist == f.codelist]
    if len(users) != 1 or p.distinct < 2:
        return 0.0
    _, by_label = p.codelists.get(f.codelist or "", (0.0, 0.0))
    rivals = [lab for cl, (_, lab) in p.codelists.items() if cl != f.codelist]
    if by_label >= 0.9 and by_label - max(rivals, default=0.0) >= 0.3:
        return round(0.5 + 0.35 * by_label, 3)
    return 0.0
