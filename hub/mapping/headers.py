"""Header evidence: how well a column's header names a field.

A header is compared with every field's name, label and aliases: exactly, by pinyin
initials (SFZH = 身份证号, common in database exports), by one containing the other
(居民身份证号码（18位） contains 身份证号码) and by similarity. A header that names another
person (户主, 监护人) only matches aliases that name that person too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property, lru_cache
from typing import Any

from hub.registry.loader import Registry
from hub.registry.models import to_halfwidth

EXACT = 1.0
INITIALS = 0.85  # initials are short and can collide; content has to agree
_BRACKETED = re.compile(r"[（(\[【<《{].*?[）)\]】>》}]")
_GROUP_SEP = re.compile(r"[/_]")  # 家庭成员信息/姓名, 证件信息_证件号码
# 医疗保险号 is a number, not a type: these endings only fit identifier-like fields
_ID_ENDINGS = ("号", "号码", "编号", "证号", "卡号", "账号")
_ID_KINDS = {"cn_id", "cert20", "phone", "bank_account", "identifier"}
_NAME_SUFFIXES = ("名称", "代码", "编码", "id")  # 救助类型名称, 社区ID: the field itself
# 1、姓名 / 2.1姓名 / A.2.11 居住情况 / 三、家庭住址
_NUMBERING = re.compile(
    r"^(([a-z]\.?)?\d{1,2}(\.\d{1,2})*|[一二三四五六七八九十]{1,3})([、.:)）]|\s+|(?=[\u4e00-\u9fff]))"
)
# 性别：1男，2女 / 出生日期：yyyymmdd — what follows a colon explains the column
_EXPLANATION = re.compile(r"(?<=..)[:：].*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# 户别（户口类型）, 管理隶属于连队（社区）: a bracket naming a field says what the column is;
# one with digits or punctuation explains the codes or the unit instead (（1城镇，2乡村）, （元）)
_PLAIN_BRACKET = re.compile(r"[（(]([\u4e00-\u9fff]{2,8})[）)]")
# an address column's head noun comes last; 户籍 / 户口 anywhere makes it the registered one
_ADDRESS_HEAD = re.compile(r"(地址|住址|详址|住所|住处|处所)\d?$")
_DETAILED = re.compile(r"详址|详细地址|门\(楼\)|门牌")
_REGISTERED = re.compile(r"户籍|户口")
_NOT_RESIDENCE = (
    "单位",
    "工作",
    "学校",
    "籍贯",
    "出生",
    "服务",
    "办公",
    "营业",
    "注册",
    "企业",
    "其他",
    "其它",
    "或",
)  # 户籍地址或居住地址 names two fields: abstain
# a community column: an org-unit word last, or before 名称 / 单位名称
_COMMUNITY = re.compile(
    r"(社区|居委会|村委会|居民委员会|村民委员会|村\(居\)|居\(村\))(单位)?(名称)?$"
)
_NOT_COMMUNITY = ("电话", "人员", "民警", "医院", "卫生", "服务", "工作", "党", "人数", "网格")
_YES_NO = re.compile(r"^(是否|有无|是不是)")
_STATUS_END = re.compile(r"(类型|类别|方式|状态|状况|情况|性质)$")
_INSURANCE = (
    ("medical_insurance", r"医疗|医保|合作医疗|新农合"),
    ("pension_insurance", r"养老(保险|参保)|养老缴费"),
)
_OWN = re.compile(r"^(本人|个人)(?=.{2,})")  # 个人健康状况 is the resident's 健康状况
# 人口数量 is 家庭人口数量; 参保类型 is not 医保参保类型: only these qualifiers may be dropped
_SOFT_QUALIFIERS = ("家庭", "本人", "个人", "居民", "人员", "户内")
_TOTAL = re.compile(r"^(总|累计|合计|全年|年度?)")
ADDRESS_RULE = 0.8  # below FALLBACK_MIN: a generic address header never backs up an exact one
DETAILED_RULE = 0.9
YES_NO_VALUE = 0.9
SECONDARY = 0.84  # just below FALLBACK_MIN
_LANDLINE = re.compile(r"固定电话|家庭电话|座机|固话")  # the household's or any fixed line
_NOISE = re.compile(r"[\s*★☆※:;,，。；、\"'“”‘’`_\-—~～|]")


def normalize_header(text: str) -> str:
    """The form headers are compared in: simplified, half-width, lower case, no spaces, marks
    or numbering.

    Example:
        >>> normalize_header(" 1、身份證號 * ")
        '身份证号'
    """
    t = to_simplified(to_halfwidth(text)).lower().strip()
    t = _NUMBERING.sub("", t)
    t = _EXPLANATION.sub("", t)
    t = _NOISE.sub("", t)
    return t.replace("（", "(").replace("）", ")")


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc  # the converter loads its dictionaries once

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters (性別, 聯繫電話) as their simplified forms."""
    if text.isascii():
        return text
    return str(_t2s().convert(text))


_SAME_ENDINGS = re.compile(r"(号码|类型|类别|种类)$")
# 入伍前户籍, 旧身份证号, 原工作单位: an earlier value is not the resident's current one
_PAST = re.compile(r"^(原|旧|以前|之前|(?![目当])[\u4e00-\u9fff]{1,3}前)")


def _keep_best(best: dict[str, HeaderMatch], matches: list[HeaderMatch]) -> None:
    """Each field's strongest match."""
    for m in matches:
        if m.field not in best or m.score > best[m.field].score:
            best[m.field] = m


def _short_number(text: str) -> str:
    """残疾人证号码 is 残疾人证号 and 残疾类型 is 残疾类别: endings that name the same thing."""
    return _SAME_ENDINGS.sub(lambda m: "号" if m.group(1) == "号码" else "类", text)


def strip_brackets(text: str) -> str:
    """月收入（元） -> 月收入: units and notes in brackets say nothing about the field."""
    return _BRACKETED.sub("", text)


@dataclass(frozen=True)
class HeaderMatch:
    field: str
    score: float
    evidence: str


class HeaderMatcher:
    """Scores headers against the registry's fields. Build once per registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        cfg = registry.mapping
        self.other_words = [normalize_header(w) for w in cfg.other_person_words]
        self.generic = [normalize_header(w) for w in cfg.generic_words]
        self.ignored = {normalize_header(w) for w in cfg.ignore_headers}

    @cached_property
    def aliases(self) -> dict[str, list[tuple[str, str]]]:
        """field -> [(normalized alias, as written)]: its name, label and aliases."""
        out: dict[str, list[tuple[str, str]]] = {}
        for f in self.registry.fields.values():
            seen: dict[str, str] = {}
            for a in [f.name, f.label, *f.aliases]:
                for form in {normalize_header(a), normalize_header(strip_brackets(a))}:
                    if form:
                        seen.setdefault(form, a)
            out[f.name] = list(seen.items())
        return out

    @cached_property
    def exact(self) -> dict[str, str]:
        """normalized alias -> field; an alias two fields share belongs to neither."""
        owners: dict[str, set[str]] = {}
        for name, forms in self.aliases.items():
            for form, _ in forms:
                owners.setdefault(form, set()).add(name)
        return {form: next(iter(f)) for form, f in owners.items() if len(f) == 1}

    @cached_property
    def initials(self) -> dict[str, tuple[str, str]]:
        """pinyin initials of Chinese aliases (sfzh) -> (field, alias); unambiguous ones only."""
        from pypinyin import Style, lazy_pinyin  # dictionary load ~0.3 s: only when matching

        owners: dict[str, set[tuple[str, str]]] = {}
        for name, forms in self.aliases.items():
            for form, written in forms:
                if not re.fullmatch(r"[\u4e00-\u9fff]{2,8}", form):
                    continue
                key = "".join(lazy_pinyin(form, style=Style.FIRST_LETTER))
                owners.setdefault(key, set()).add((name, written))
        out = {}
        for key, found in owners.items():
            fields = {f for f, _ in found}
            if len(fields) == 1 and len(key) >= 2:
                out[key] = sorted(found)[0]
        return out

    def candidates(self, header: str) -> list[HeaderMatch]:
        """Every field the header may name, best first (at most one entry per field)."""
        forms = self.forms(header)
        if not forms or any(f in self.ignored for f in forms):
            return []
        best: dict[str, HeaderMatch] = {}
        _keep_best(best, [m for form in forms for m in self._match(form, header)])
        _keep_best(
            best,
            self._bracket(header) + self._address(forms, header) + self._insurance(forms, header),
        )
        self._yes_no_subject(forms, best)
        # 联系方式（应急联系人及电话）, 户主信息/姓名: a person named anywhere in the header
        # rules out fields whose aliases never name that person
        named = [w for w in self.other_words if any(w in f for f in forms)]
        if named:
            self._discount(best, 0.3, lambda a: any(w in a for w in named))
        if any(_PAST.match(f) for f in forms):
            self._discount(best, 0.3, lambda a: bool(_PAST.match(a)))
        # 户联系电话, 户月保障金额, 户类型: the household's value, not the resident's
        if any(f.startswith("户") for f in forms):
            self._discount(best, 0.5, lambda a: "户" in a, entity="person")
        _keep_best(best, self._community(forms, header))
        return sorted(best.values(), key=lambda m: -m.score)

    def _discount(
        self,
        best: dict[str, HeaderMatch],
        factor: float,
        alias_fits: Callable[[str], bool],
        entity: str | None = None,
    ) -> None:
        """Lower the fields (of `entity`, if given) none of whose aliases `alias_fits`."""
        for name, m in best.items():
            if entity and self.registry.fields[name].entity != entity:
                continue
            if not any(alias_fits(a) for a, _ in self.aliases[name]):
                best[name] = HeaderMatch(name, round(m.score * factor, 3), m.evidence)

    def _bracket(self, header: str) -> list[HeaderMatch]:
        """户别（户口类型）: the bracket is itself a field's name."""
        out = []
        for inner in _PLAIN_BRACKET.findall(to_simplified(to_halfwidth(header))):
            field = self.exact.get(normalize_header(inner))
            if field:
                out.append(
                    HeaderMatch(field, EXACT, f"表头「{header}」括号中的「{inner}」与字段别名一致")
                )
                continue
            # 联系方式（应急联系人及电话）: the bracket lists what the column holds, first the who
            first = re.split(r"及|和|与|、", inner)[0]
            field = self.exact.get(normalize_header(first)) if first != inner else None
            if field:
                out.append(HeaderMatch(field, 0.9, f"表头「{header}」括号中首先写明「{first}」"))
        return out

    def _insurance(self, forms: list[str], header: str) -> list[HeaderMatch]:
        """医疗费用支付类型, 医疗类型, 养老保险缴费状态: an insurance's type or status, however
        it is worded (commercial insurance is not the basic schemes the lists code)."""
        bare = [strip_brackets(f) for f in forms]
        if not any(_STATUS_END.search(f) for f in bare) or any("商业" in f for f in forms):
            return []
        for field, words in _INSURANCE:
            if field in self.registry.fields and any(re.search(words, f) for f in bare):
                return [HeaderMatch(field, ADDRESS_RULE, f"表头「{header}」是保险的类型或状态")]
        return []

    def _address(self, forms: list[str], header: str) -> list[HeaderMatch]:
        """现在地址, 暂居住址的详细地址, 家庭住址（户籍地址）: an address word last is an address
        column whatever precedes it, unless it is a workplace's, a birthplace's or someone
        else's."""
        if not any(_ADDRESS_HEAD.search(strip_brackets(f)) for f in forms):
            return []
        field = self._residence(forms)
        if field is None:
            return []
        registered = field == "registered_address"
        score = DETAILED_RULE if any(_DETAILED.search(f) for f in forms) else ADDRESS_RULE
        kind = "户籍地址" if registered else "现住址"
        return [HeaderMatch(field, score, f"表头「{header}」以地址一词结尾，是{kind}列")]

    def address_by_content(self, header: str) -> str | None:
        """The address field a column of addresses fills whatever its header says (地址,
        AAE006, 联系方式), or None when the header makes it someone else's or a workplace's."""
        return self._residence(self.forms(header) or [normalize_header(header)])

    def _residence(self, forms: list[str]) -> str | None:
        """Which of the resident's addresses an address column holds: 户籍 / 户口 make it the
        registered one; a workplace's, a birthplace's or someone else's is neither."""
        if any(w in f for f in forms for w in (*_NOT_RESIDENCE, *self.other_words)):
            return None
        if any(_REGISTERED.search(f) for f in forms):
            return "registered_address"
        return "current_address"

    def _community(self, forms: list[str], header: str) -> list[HeaderMatch]:
        """社区单位名称, 村组（社区）: an org-unit word where the column's name goes."""
        if "community_code" not in self.registry.fields:
            return []
        if not any(_COMMUNITY.search(f) for f in forms):
            return []
        if any(w in f for f in forms for w in (*_NOT_COMMUNITY, *self.other_words) if w != "单位"):
            return []
        return [HeaderMatch("community_code", ADDRESS_RULE, f"表头「{header}」是社区（村）名称列")]

    def _yes_no_subject(self, forms: list[str], best: dict[str, HeaderMatch]) -> None:
        """是否残疾 is not 是否独居: a yes/no field takes a 是否… header only if the subjects
        agree; the header's other candidates stay for content to judge."""
        subjects = [_YES_NO.sub("", f) for f in forms if _YES_NO.match(f)]
        if not subjects:
            return
        for name in list(best):
            f = self.registry.fields[name]
            if f.codelist and f.type != "boolean":
                # 是否参加城乡居民基本医疗保险: the subject is one of the list's values
                values = self._code_values.get(f.codelist, [])
                hit = next((v for v in values if any(v in s for s in subjects)), None)
                if hit and best[name].score < YES_NO_VALUE:
                    best[name] = HeaderMatch(
                        name, YES_NO_VALUE, f"是否类表头，其主语「{hit}」是代码表的取值"
                    )
                continue
            if f.type != "boolean":
                continue
            own = {_YES_NO.sub("", a) for a, _ in self.aliases[name]}
            if not any(s == o or (len(o) >= 2 and o in s) for s in subjects for o in own):
                del best[name]

    def names_other_person(self, header: str) -> bool:
        """户主电话, 监护人联系方式: the values are someone else's, whatever they look like."""
        return any(w in f for f in self.forms(header) for w in self.other_words)

    def is_ignored(self, header: str) -> bool:
        return any(f in self.ignored for f in self.forms(header))

    def forms(self, header: str) -> list[str]:
        """The spellings a header is matched in: the column's own header, without brackets
        and without a trailing 名称/代码, and joined to its merged group header
        (户主信息/姓名 -> 户主姓名)."""
        parts = [p for p in _GROUP_SEP.split(header) if p.strip()]
        if not parts:
            return []
        leaf = normalize_header(strip_brackets(parts[-1]))
        out = [normalize_header(parts[-1]), leaf]
        out += [leaf[: -len(x)] for x in _NAME_SUFFIXES if leaf.endswith(x) and len(leaf) > 3]
        if len(parts) > 1:
            parent = normalize_header(strip_brackets(parts[-2]))
            for w in self.generic:
                parent = parent.replace(w, "")
            if parent:
                out.insert(0, parent + leaf)
        if _OWN.match(leaf):
            out.append(_OWN.sub("", leaf))
        if "《" in header:  # 《中华人民共和国残疾人证》号码: a title, not a note
            out.append(normalize_header(parts[-1].replace("《", "").replace("》", "")))
        return list(dict.fromkeys(f for f in out if f))

    def _match(self, form: str, header: str) -> list[HeaderMatch]:
        field = self.exact.get(form)
        if field:
            part = "" if form == normalize_header(header) else f"（按「{form}」）"
            # 户籍地 may be a region, 固定电话 a household's line: each maps alone but never
            # backs up a detailed address or a mobile number
            place = self.kinds[field] == "address" and form.endswith("地")
            landline = self.kinds[field] == "phone" and bool(_LANDLINE.search(form))
            score = SECONDARY if place or landline else EXACT
            return [HeaderMatch(field, score, f"表头「{header}」{part}与字段别名一致")]
        if re.fullmatch(r"[a-z]{2,8}", form) and form in self.initials:
            field, alias = self.initials[form]
            return [HeaderMatch(field, INITIALS, f"表头「{header}」是「{alias}」的拼音首字母")]
        if "(" in form or not _CJK.search(form):
            return []  # fuzzy matching on the bracket-free Chinese form only
        out = []
        for name, aliases in self.aliases.items():
            score, alias = max(
                ((self._similar(form, a), written) for a, written in aliases),
                key=lambda t: t[0],
            )
            if score >= 0.5 and form.endswith(_ID_ENDINGS) and self.kinds[name] not in _ID_KINDS:
                score *= 0.3
            if score >= 0.5:
                out.append(HeaderMatch(name, score, self._why(header, alias, score)))
        return out

    @cached_property
    def _code_values(self) -> dict[str, list[str]]:
        """code list -> its labels and synonyms of 4+ characters (short ones match anything)."""
        out: dict[str, list[str]] = {}
        for name, cl in self.registry.codelists.items():
            words = {normalize_header(w) for e in cl.entries for w in [e.label, *e.synonyms]}
            out[name] = sorted(w for w in words if len(w) >= 4)
        return out

    def _owner(self, alias: str) -> str | None:
        return self._alias_owner.get(alias)

    @cached_property
    def _alias_owner(self) -> dict[str, str]:
        return {form: name for name, forms in self.aliases.items() for form, _ in forms}

    @cached_property
    def kinds(self) -> dict[str, str]:
        return {f.name: f.content_kind for f in self.registry.fields.values()}

    def _similar(self, form: str, alias: str) -> float:
        if len(alias) < 2 or len(form) < 2 or not _CJK.search(alias):
            return 0.0
        form, alias = _short_number(form), _short_number(alias)
        if alias in form:
            # the head of a Chinese compound comes last: 居民身份证号码 is an ID number,
            # 户籍地派出所 is a police station
            share = len(alias) / len(form)
            score = (0.7 if form.endswith(alias) else 0.45) + 0.25 * share
        elif (
            alias.endswith(form)
            and len(form) >= 3
            and (len(form) / len(alias) >= 0.75 or alias[: -len(form)] in _SOFT_QUALIFIERS)
            and len(form) / len(alias) >= 0.6
        ):
            # only if the header keeps the alias's head noun: 家庭成员 is not 家庭成员姓名
            score = 0.55 + 0.3 * len(form) / len(alias)
        elif len(form) == len(alias) >= 6 and sum(map(str.__ne__, form, alias)) == 1:
            score = 0.72  # 生活处理能力: one character mistyped in a long header
        elif min(len(form), len(alias)) >= 4 and ("月" in form) == ("月" in alias):
            # 户类型 is one edit from 户口类型 and not it; 家庭收入 has lost 家庭月收入's period
            ratio = SequenceMatcher(None, form, alias).ratio()
            score = ratio * 0.8 if ratio >= 0.85 else 0.0
        else:
            score = 0.0
        # 总发放金额, 累计收入: a total is not the (monthly) amount
        if (
            _TOTAL.match(form)
            and not _TOTAL.match(alias)
            and self.kinds.get(self._owner(alias) or "") == "money"
        ):
            score *= 0.3
        # a person named in one and not the other: 监护人电话 is not 电话
        if any((w in form) != (w in alias) for w in self.other_words):
            score *= 0.3
        return round(score, 3)

    @staticmethod
    def _why(header: str, alias: str, score: float) -> str:
        h, a = normalize_header(header), normalize_header(alias)
        if a in h:
            return f"表头「{header}」包含字段别名「{alias}」"
        if h in a:
            return f"表头「{header}」是字段别名「{alias}」的一部分"
        return f"表头「{header}」与字段别名「{alias}」相似（{score:.2f}）"
