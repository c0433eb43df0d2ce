"""What real district files do that a clean sample never does, as options the tests turn on:
damaged IDs in the household roster itself, residents the roster lacks, addresses without
street or community, year-only and month-only birth dates, the head's ID on a member's row,
twins, and headers as other systems write them. Drawn from their own random stream, so the residents stay those of the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace

from hub.normalize.cn_id import make_id
from hub.sample.departments import SourceSpec
from hub.sample.people import GIVEN, Resident

ROSTER = "gongan_household"  # the household roster: the authority for identity
HEAD_ID_SOURCES = ("minzheng_dibao",)  # member rows filled in with the head's ID


@dataclass(frozen=True)
class Adversity:
    """Shares of rows (or households) each trouble touches; all zero is the clean sample."""

    roster_bad_ids: float = 0.0  # roster rows whose ID has two digits swapped or one changed
    missing_from_roster: float = 0.0  # residents not in the household roster at all
    bare_addresses: float = 0.0  # addresses written from the road on (no province … community)
    partial_dates: float = 0.0  # birth dates outside the roster written 1950年 / 1950.03
    head_id_on_members: float = 0.0  # 低保 member rows carrying the head's ID
    twins: float = 0.0  # households that gain a twin of one of their children
    plain_headers: bool = False  # headers as other systems write them (地址, AAE006, 所在地)

    @classmethod
    def hostile(cls) -> Adversity:
        """The levels the new-district tests use."""
        return cls(0.01, 0.03, 0.10, 0.05, 0.02, 0.03, plain_headers=True)

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


# (source, field) -> the header another district's system gives that column: short or
# code headers for addresses, a word for place over a community column
PLAIN_HEADERS = {
    ("minzheng_dibao", "current_address"): "地址",
    ("minzheng_dibao", "community_code"): "村居",
    ("canlian_disabled", "current_address"): "现在地址",
    ("weijian_elderly", "current_address"): "联系地址",
    ("weijian_elderly", "community_code"): "所在地",
    ("tuiyi_veterans", "current_address"): "AAE006",
    ("gongan_household", "community_code"): "所属区域",
}


def with_plain_headers(spec: SourceSpec) -> SourceSpec:
    columns = [
        replace(c, header=PLAIN_HEADERS.get((spec.name, c.target), c.header)) for c in spec.columns
    ]
    return replace(spec, columns=columns)


class Troubles:
    """Applies an `Adversity` to residents and formatted rows."""

    def __init__(self, adversity: Adversity, seed: int) -> None:
        self.a = adversity
        self.rng = random.Random(seed * 7919 + 17)

    def add_twins(self, people: list[Resident], taken: set[str]) -> list[Resident]:
        """A twin for a child in some households: same birth date, surname, household and
        address, the next sequence number of the ID, a given name sharing a character."""
        out: list[Resident] = []
        for p in people:
            out.append(p)
            if p.relation not in ("20", "30") or self.rng.random() >= self.a.twins:
                continue
            twin = self._twin(p, taken)
            if twin:
                out.append(twin)
        return out

    def drop_from_roster(self, person: Resident) -> None:
        if self.rng.random() < self.a.missing_from_roster:
            person.extra["not_in_roster"] = True

    def rows_for(self, spec: SourceSpec, members: list[Resident]) -> list[Resident]:
        if spec.name == ROSTER:
            return [m for m in members if not m.extra.get("not_in_roster")]
        return members

    def apply(self, spec: SourceSpec, person: Resident, row: list[object]) -> None:
        """Change cells of a formatted row in place (the truth keeps the resident)."""
        rng, a = self.rng, self.a
        for i, col in enumerate(spec.columns):
            v = row[i]
            if v is None:
                continue
            if col.target == "citizen_id":
                if spec.name == ROSTER and rng.random() < a.roster_bad_ids:
                    row[i] = damage_id(str(v), rng)
                elif (
                    spec.name in HEAD_ID_SOURCES
                    and person.relation != "02"
                    and person.head_id
                    and rng.random() < a.head_id_on_members
                ):
                    row[i] = person.head_id
                    if rng.random() < 0.5:  # the office knew only the head's details
                        _blank(spec, row, "birth_date")
            elif col.target in ("current_address", "registered_address"):
                if rng.random() < a.bare_addresses:
                    row[i] = bare_address(str(v))
            elif (
                col.target == "birth_date"
                and spec.name != ROSTER
                and rng.random() < a.partial_dates
            ):
                b = person.birth_date
                row[i] = rng.choice(
                    [f"{b.year}年", f"{b.year}.{b.month:02d}", f"{b.year}年{b.month}月"]
                )

    def _twin(self, p: Resident, taken: set[str]) -> Resident | None:
        seq = int(p.citizen_id[14:17])
        gender = self.rng.choice("12")
        for step in range(1, 9):
            s = seq + step
            if (s % 2 == 1) != (gender == "1"):
                continue
            if s > 999:
                return None
            cid = make_id(p.citizen_id[:6], p.birth_date, s)
            if cid in taken:
                continue
            taken.add(cid)
            shared = p.name[1:2] or self.rng.choice(GIVEN)
            name = p.name[0] + shared + self.rng.choice([g for g in GIVEN if g != p.name[-1]])
            relation = "20" if gender == "1" else "30"
            return replace(
                p,
                citizen_id=cid,
                name=name,
                gender=gender,
                relation=relation,
                phone=None,
                phone_old=None,
                former_name=None,
                extra={},
            )
        return None


def _blank(spec: SourceSpec, row: list[object], target: str) -> None:
    for j, col in enumerate(spec.columns):
        if col.target == target:
            row[j] = None


def damage_id(cid: str, rng: random.Random) -> str:
    """Two neighbouring digits swapped (often 14–15: the birth day's last digit and the
    sequence's first) or one digit changed, as typed from paper."""
    if len(cid) != 18:
        return cid
    if rng.random() < 0.6:
        i = rng.choice([13, 13, 14, 15, 10, 11])  # 0-based: digits 14–15 most often
        if cid[i] != cid[i + 1]:
            return cid[:i] + cid[i + 1] + cid[i] + cid[i + 2 :]
    i = rng.randrange(6, 17)
    digit = rng.choice([d for d in "0123456789" if d != cid[i]])
    return cid[:i] + digit + cid[i + 1 :]


def bare_address(address: str) -> str:
    """The address from the road on: 浙江省杭州市青禾区青云街道幸福社区幸福路12号… -> 幸福路12号…"""
    for marker in ("社区", "村"):
        _, sep, rest = address.partition(marker)
        if sep and rest and any(ch.isdigit() for ch in rest):
            return rest.lstrip()
    return address
