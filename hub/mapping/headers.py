"""Header evidence: how well a column's header names a field.

A header is compared with every field's name, label and aliases: exactly, by pinyin
initials (SFZH = 身份证号, common in database exports), by one containing the other
(居民身份证号码（18位） contains 身份证号码) and by similarity. A header that names another
person (户主, 监护人) only matches aliases that name that person too.
"""

from __future__ import annotations

import re
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
        for form in forms:
            for m in self._match(form, header):
                if m.field not in best or m.score > best[m.field].score:
                    best[m.field] = m
        # 联系方式（应急联系人及电话）, 户主信息/姓名: a person named anywhere in the header
        # rules out fields whose aliases never name that person
        named = [w for w in self.other_words if any(w in f for f in forms)]
        if named:
            for name, m in best.items():
                if not any(w in a for w in named for a, _ in self.aliases[name]):
                    best[name] = HeaderMatch(name, round(m.score * 0.3, 3), m.evidence)
        return sorted(best.values(), key=lambda m: -m.score)

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
        return list(dict.fromkeys(f for f in out if f))

    def _match(self, form: str, header: str) -> list[HeaderMatch]:
        field = self.exact.get(form)
        if field:
            part = "" if form == normalize_header(header) else f"（按「{form}」）"
            return [HeaderMatch(field, EXACT, f"表头「{header}」{part}与字段别名一致")]
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
    def kinds(self) -> dict[str, str]:
        return {f.name: f.content_kind for f in self.registry.fields.values()}

    def _similar(self, form: str, alias: str) -> float:
        if len(alias) < 2 or len(form) < 2 or not _CJK.search(alias):
            return 0.0
        if alias in form:
            # the head of a Chinese compound comes last: 居民身份证号码 is an ID number,
            # 户籍地派出所 is a police station
            share = len(alias) / len(form)
            score = (0.7 if form.endswith(alias) else 0.45) + 0.25 * share
        elif alias.endswith(form) and len(form) >= 3 and len(form) / len(alias) >= 0.6:
            # only if the header keeps the alias's head noun: 家庭成员 is not 家庭成员姓名
            score = 0.55 + 0.3 * len(form) / len(alias)
        else:
            ratio = SequenceMatcher(None, form, alias).ratio()
            score = ratio * 0.8 if ratio >= 0.85 else 0.0
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
