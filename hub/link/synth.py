"""Department records of the same residents, corrupted the way real rosters are, with truth.

For `hub bench linkage` and the linkage tests: each resident appears in one to five
department tables; each record is written as that department writes it (its own date
format, code spellings, address style) and some carry the errors that defeat a join on the
ID number: a mistyped digit, two digits swapped, no ID at all, the legacy 15-digit form,
the household head's ID instead of the member's, a homophone or traditional-character name,
an address written another way, a phone number that has since changed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa

from hub.normalize.cn_id import to15
from hub.registry.loader import Registry
from hub.sample.people import PeopleFactory, Resident

# Common characters of given names: the pool homophones are drawn from.
NAME_CHARS = (
    "伟玮炜纬苇芳方舫娜纳敏民闵静晶菁婧丽莉利力立强蔷磊蕾军君俊钧洋阳杨扬勇永咏艳燕雁彦杰洁婕捷娟鹃"
    "涛韬滔明铭鸣超潮秀绣霞侠平萍苹刚钢纲桂贵英瑛莹颖华桦骅玉钰宇雨羽兰岚澜红宏鸿洪虹建剑健国果文雯"
    "辉晖慧惠蕙力丽斌彬滨浩皓昊凯恺楷鹏朋飞菲斐鑫欣馨新波博柏宁凝琳林霖晨辰臣雪学梅玫媚婷亭庭颖影"
    "佳嘉家欣心馨子梓紫涵寒含轩宣萱睿瑞锐思斯丝志智致海凯云芸昀春纯金锦今福富芙德得荣蓉容庆清青祥"
    "翔详凤峰锋珍真贞淑舒书翠萃琴勤芹倩茜妍研晓小昊浩"
)
# kind -> share of records carrying it (applied independently, ID problems exclusively)
CORRUPTION = {
    "id_missing": 0.06,
    "id_typo": 0.04,
    "id_transposed": 0.03,
    "id_legacy15": 0.04,
    "id_of_head": 0.01,
    "name_homophone": 0.04,
    "name_traditional": 0.03,
    "address_variant": 0.25,
    "phone_changed": 0.10,
}
_DEPARTMENTS = [
    # name, share of residents in it, date style, ID header kept, phone kept, address kept
    ("gongan", 0.95, "compact"),
    ("minzheng", 0.20, "cn"),
    ("canlian", 0.10, "iso"),
    ("weijian", 0.35, "dot"),
    ("renshe", 0.45, "serial"),
    ("tuiyi", 0.06, "cn"),
]


@dataclass
class LinkageSample:
    records: pa.Table  # one row per department record, every value as text
    truth: dict[str, int]  # record_key -> resident number
    corrupted: dict[str, list[str]]  # record_key -> corruption kinds
    residents: int


def generate_records(registry: Registry, records: int, seed: int = 7) -> LinkageSample:
    """About `records` department records (each resident is in ~2.1 tables on average)."""
    rng = random.Random(seed)
    per_resident = sum(share for _, share, _ in _DEPARTMENTS)
    people = PeopleFactory(rng, registry.orgs).residents(max(2, round(records / per_resident)))
    rows: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    truth: dict[str, int] = {}
    corrupted: dict[str, list[str]] = {}
    counters = {d[0]: 0 for d in _DEPARTMENTS}
    for i, person in enumerate(people):
        for dept, share, style in _DEPARTMENTS:
            if rng.random() >= share:
                continue
            counters[dept] += 1
            key = f"{dept}|{counters[dept]}"
            kinds = _record(rows, rng, person, dept, style, key, people, i)
            truth[key] = i
            if kinds:
                corrupted[key] = kinds
    return LinkageSample(pa.table(rows), truth, corrupted, len(people))


COLUMNS = [
    "record_key",
    "source",
    "source_row",
    "citizen_id",
    "name",
    "gender",
    "birth_date",
    "phone",
    "current_address",
    "household_head_name",
]


def _record(
    rows: dict[str, list[Any]],
    rng: random.Random,
    p: Resident,
    dept: str,
    style: str,
    key: str,
    people: list[Resident],
    index: int,
) -> list[str]:
    kinds = [k for k, rate in CORRUPTION.items() if rng.random() < rate]
    id_kinds = [k for k in kinds if k.startswith("id_")]
    kinds = [k for k in kinds if not k.startswith("id_")] + id_kinds[:1]
    cid = _id(p, kinds, rng)
    name = _name(p.name, kinds, rng)
    phone = p.phone
    if "phone_changed" in kinds and phone:
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    address = _address(p.address, kinds, rng)
    values = [
        key,
        dept,
        key.split("|")[1],
        cid,
        name,
        _gender(p.gender, dept),
        _date(p, style),
        phone if dept != "canlian" or rng.random() < 0.8 else None,
        address,
        p.head_name,
    ]
    for col, v in zip(COLUMNS, values, strict=True):
        rows[col].append(v)
    return kinds


def _id(p: Resident, kinds: list[str], rng: random.Random) -> str | None:
    cid = p.citizen_id
    if "id_missing" in kinds:
        return None
    if "id_typo" in kinds:
        i = rng.randrange(17)
        return cid[:i] + rng.choice([d for d in "0123456789" if d != cid[i]]) + cid[i + 1 :]
    if "id_transposed" in kinds:
        i = rng.randrange(16)
        if cid[i] == cid[i + 1]:
            kinds.remove("id_transposed")
            return cid
        return cid[:i] + cid[i + 1] + cid[i] + cid[i + 2 :]
    if "id_legacy15" in kinds:
        if cid[6:8] != "19":
            kinds.remove("id_legacy15")
            return cid
        return to15(cid)
    if "id_of_head" in kinds:
        if p.head_id == cid:
            kinds.remove("id_of_head")
            return cid
        return p.head_id
    return cid


def _name(name: str, kinds: list[str], rng: random.Random) -> str:
    if "name_homophone" in kinds:
        swaps = [(i, alt) for i, ch in enumerate(name[1:], 1) if (alt := _homophones().get(ch))]
        if swaps:
            i, alts = rng.choice(swaps)
            return name[:i] + rng.choice(alts) + name[i + 1 :]
        kinds.remove("name_homophone")
    if "name_traditional" in kinds:
        trad = _to_traditional(name)
        if trad != name:
            return trad
        kinds.remove("name_traditional")
    return name


def _address(address: str, kinds: list[str], rng: random.Random) -> str:
    if "address_variant" not in kinds:
        return address
    variants: list[Callable[[str], str]] = [
        lambda a: a.split("市", 1)[1] if "市" in a else a,  # no province and city
        lambda a: a.replace("幢", "-").replace("单元", "-").replace("室", ""),
        lambda a: a.replace("浙江省", "").replace("杭州市", "杭州"),
        lambda a: a.replace("号", "号 ").replace("幢", "栋"),
    ]
    return rng.choice(variants)(address)


def _gender(code: str, dept: str) -> str:
    return {"renshe": code, "gongan": "男" if code == "1" else "女"}.get(
        dept, "男性" if code == "1" else "女性"
    )


def _date(p: Resident, style: str) -> str:
    from hub.sample.formats import fmt_date

    return str(fmt_date(p.birth_date, style))


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]]:
    """Name characters that sound alike (same pinyin, tones aside): 伟 -> 玮, 炜, 纬, 苇."""
    from pypinyin import lazy_pinyin

    groups: dict[str, set[str]] = {}
    for ch in set(NAME_CHARS):
        groups.setdefault(lazy_pinyin(ch)[0], set()).add(ch)
    return {ch: sorted(g - {ch}) for g in groups.values() if len(g) > 1 for ch in g}


@lru_cache(maxsize=4096)
def _to_traditional(text: str) -> str:
    return str(_s2t().convert(text))


@lru_cache(maxsize=1)
def _s2t() -> Any:
    import opencc

    return opencc.OpenCC("s2t")
