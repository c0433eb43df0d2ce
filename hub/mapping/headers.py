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
from functools import cached_property

from hub.registry.loader import Registry
from hub.registry.models import to_halfwidth

EXACT = 1.0
INITIALS = 0.85  # initials are short and can collide; content has to agree
_BRACKETED = re.compile(r"[（(\[【<《{].*?[）)\]】>》}]")
_NUMBERING = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})[、.:)）]")
_NOISE = re.compile(r"[\s*★☆※:;,，。；、\"'“”‘’`_\-—~～|]")


def normalize_header(text: str) -> str:
    """The form headers are compared in: half-width, lower case, no spaces, marks or numbering.

    Example:
        >>> normalize_header(" 1、身份证号 * ")
        '身份证号'
    """
    t = to_halfwidth(text).lower().strip()
    t = _NUMBERING.sub("", t)
    t = _NOISE.sub("", t)
    return t.replace("（", "(").replace("）", ")")


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
        return sorted(best.values(), key=lambda m: -m.score)

    def names_other_person(self, header: str) -> bool:
        """户主电话, 监护人联系方式: the values are someone else's, whatever they look like."""
        return any(w in f for f in self.forms(header) for w in self.other_words)

    def is_ignored(self, header: str) -> bool:
        return any(f in self.ignored for f in self.forms(header))

    def forms(self, header: str) -> list[str]:
        """The spellings a header is matched in: the column's own header, with and without
        brackets, and joined to its merged group header (户主信息/姓名 -> 户主姓名)."""
        parts = [p for p in header.split("/") if p.strip()]
        if not parts:
            return []
        leaf = parts[-1]
        out = [normalize_header(leaf), normalize_header(strip_brackets(leaf))]
        if len(parts) > 1:
            parent = normalize_header(strip_brackets(parts[-2]))
            for w in self.generic:
                parent = parent.replace(w, "")
            if parent:
                out.insert(0, parent + normalize_header(strip_brackets(leaf)))
        return list(dict.fromkeys(f for f in out if f))

    def _match(self, form: str, header: str) -> list[HeaderMatch]:
        field = self.exact.get(form)
        if field:
            part = "" if form == normalize_header(header) else f"（按「{form}」）"
            return [HeaderMatch(field, EXACT, f"表头「{header}」{part}与字段别名一致")]
        if re.fullmatch(r"[a-z]{2,8}", form) and form in self.initials:
            field, alias = self.initials[form]
            return [HeaderMatch(field, INITIALS, f"表头「{header}」是「{alias}」的拼音首字母")]
        out = []
        for name, aliases in self.aliases.items():
            score, alias = max(
                ((self._similar(form, a), written) for a, written in aliases),
                key=lambda t: t[0],
            )
            if score >= 0.5:
                out.append(HeaderMatch(name, score, self._why(header, alias, score)))
        return out

    def _similar(self, form: str, alias: str) -> float:
        if len(alias) < 2 or len(form) < 2:
            return 0.0
        if alias in form:
            score = 0.7 + 0.25 * len(alias) / len(form)
        elif form in alias:
            score = 0.6 + 0.25 * len(form) / len(alias)
        else:
            ratio = SequenceMatcher(None, form, alias).ratio()
            score = ratio * 0.85 if ratio >= 0.75 else 0.0
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
