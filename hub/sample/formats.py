"""How departments spell values: date styles, ID variants, code spellings, stray spaces."""

from __future__ import annotations

import random
from datetime import date

from hub.normalize.cn_id import to15
from hub.registry.models import CodeList

EXCEL_EPOCH = date(1899, 12, 30)
_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

DateStyle = str  # iso | cn | dot | compact | slash | serial | month_dot


def excel_serial(d: date) -> int:
    return (d - EXCEL_EPOCH).days


def fmt_date(d: date, style: DateStyle) -> str | int:
    if style == "iso":
        return d.isoformat()
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "dot":
        return f"{d.year}.{d.month}.{d.day}"
    if style == "compact":
        return f"{d:%Y%m%d}"
    if style == "slash":
        return f"{d.year}/{d.month:02d}/{d.day:02d}"
    if style == "month_dot":
        return f"{d.year}.{d.month:02d}"
    if style == "serial":
        return excel_serial(d)
    raise ValueError(style)


def impossible_date(rng: random.Random, style: DateStyle) -> str:
    """A date that cannot exist, written the department's way (text even where serials are used)."""
    y = rng.randint(1950, 2020)
    m, d = rng.choice([(2, 30), (2, 31), (4, 31), (13, 5), (6, 31), (11, 31)])
    if style == "cn":
        return f"{y}年{m}月{d}日"
    if style == "dot":
        return f"{y}.{m}.{d}"
    if style == "compact":
        return f"{y}{m:02d}{d:02d}"
    return f"{y}-{m:02d}-{d:02d}"


class Speller:
    """Writes one department's values, with the small irregularities real exports have."""

    def __init__(self, rng: random.Random, codelists: dict[str, CodeList], noise: float) -> None:
        self.rng = rng
        self.codelists = codelists
        self.noise = noise

    def citizen_id(self, cid: str, legacy_share: float) -> str:
        rng = self.rng
        if cid[6:8] == "19" and rng.random() < legacy_share:
            out = to15(cid)
        else:
            out = cid.lower() if cid.endswith("X") and rng.random() < 0.3 else cid
        return self.spaces(self.fullwidth(out))

    def fullwidth(self, text: str) -> str:
        return text.translate(_FULLWIDTH) if self.rng.random() < self.noise else text

    def spaces(self, text: str) -> str:
        r = self.rng.random()
        if r < self.noise:
            return f" {text}"
        if r < 2 * self.noise:
            return f"{text}  "
        return text

    def name(self, name: str) -> str:
        if len(name) == 2 and self.rng.random() < self.noise:
            return f"{name[0]} {name[1]}"  # 两字名中间加空格 is a common typing habit
        return self.spaces(name)

    def code(self, codelist: str, code: str, style: str) -> str:
        cl = self.codelists[codelist]
        entry = next(e for e in cl.entries if e.code == code)
        if style == "code":
            return code
        if style == "label" or not entry.synonyms:
            return entry.label
        return self.rng.choice([entry.label, entry.label, *entry.synonyms])

    def phone(self, phone: str) -> str:
        r = self.rng.random()
        if r < self.noise:
            return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
        if r < 2 * self.noise:
            return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        if r < 2.5 * self.noise:
            return f"+86{phone}"
        return self.fullwidth(phone)

    def date(self, d: date, styles: list[str]) -> str | int:
        style = styles[0] if self.rng.random() < 0.85 else self.rng.choice(styles)
        return fmt_date(d, style)
