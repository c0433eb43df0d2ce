"""Synthetic residents grouped in households, placed in the sample district's communities."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from hub.normalize.cn_id import make_id
from hub.registry.orgunits import Community, OrgTree

AS_OF = date(2025, 10, 31)  # the sample's reporting date, fixed so runs are reproducible

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力斌宇浩凯鹏飞鑫波宁琳晨雪"
    "梅婷慧颖佳欣子涵梓轩睿博思雨嘉俊志海林云春金福德荣庆祥凤珍淑翠琴彬蕾倩妍晓昊"
)
SAMPLE_DISTRICT = "330199"
BIRTH_AREAS = [
    "330199",
    "330102",
    "330105",
    "330106",
    "330108",
    "330110",
    "330122",
    "330183",
    "341221",
    "410523",
    "512301",
    "362321",
]
EMPLOYERS = [
    "青禾区实验小学",
    "杭州禾丰机械有限公司",
    "青云街道社区卫生服务中心",
    "临江镇人民政府",
    "浙江青禾物流有限公司",
    "青禾区人民医院",
    "个体经营",
    "杭州望江电子科技有限公司",
]
BANKS = ["中国农业银行", "中国工商银行", "中国建设银行", "中国邮政储蓄银行", "杭州联合银行"]


@dataclass
class Resident:
    """One true resident; `phone_old` is the number older department files still carry."""

    citizen_id: str
    name: str
    gender: str
    birth_date: date
    ethnicity: str
    household_id: str
    relation: str
    head_name: str
    head_id: str
    community_code: str
    grid_code: str
    address: str
    registered_address: str
    hukou_type: str
    marital: str
    education: str
    political: str
    employment: str
    employer: str | None
    health: str
    phone: str | None
    phone_old: str | None = None
    former_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # programme facts: 低保, 残疾, …

    def age(self, on: date = AS_OF) -> int:
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


class PeopleFactory:
    """Draws households until `n` residents exist; all randomness comes from `rng`."""

    def __init__(self, rng: random.Random, orgs: OrgTree) -> None:
        self.rng = rng
        self.orgs = orgs
        self.ids: set[str] = set()
        self.phones: set[str] = set()
        self.seq = 0

    def residents(self, n: int) -> list[Resident]:
        out: list[Resident] = []
        while len(out) < n:
            out.extend(self._household(n - len(out)))
        return out

    def _home(self) -> tuple[Community, str, str]:
        """A community of this district, one of its grids ('' if none) and an address there."""
        rng = self.rng
        comm = rng.choice(self.orgs.communities)
        grid = rng.choice(comm.grids).code if comm.grids else ""
        street = self.orgs.street_of(comm.code)
        house = f"{road_of(comm)}{rng.randint(1, 299)}号{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
        d = self.orgs.district
        return comm, grid, f"{d.province}{d.city}{d.name}{street.name}{comm.name}{house}"

    def living_here(self, person: Resident) -> Resident:
        """`person` of another district, living in this one: a home here, the household
        register (and its address) still there."""
        comm, grid, address = self._home()
        return replace(
            person,
            community_code=comm.code,
            grid_code=grid,
            address=address,
            extra=dict(person.extra),
        )

    def _household(self, room: int) -> list[Resident]:
        rng = self.rng
        self.seq += 1
        comm, grid_code, address = self._home()
        street = self.orgs.street_of(comm.code)
        hid = f"{comm.code[-6:]}{self.seq:06d}"
        hukou = "2" if street.name.endswith("镇") and rng.random() < 0.7 else "1"
        head_age = rng.choices(
            [rng.randint(22, 45), rng.randint(46, 64), rng.randint(65, 98)], weights=[40, 38, 22]
        )[0]
        head_g = rng.choice("12")
        plan: list[tuple[str, int, str]] = [("02", head_age, head_g)]
        if head_age >= 24 and rng.random() < 0.7:
            plan.append(
                ("10", max(20, head_age + rng.randint(-5, 5)), "2" if head_g == "1" else "1")
            )
        if 25 <= head_age <= 70:
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                g = rng.choice("12")
                plan.append(("20" if g == "1" else "30", max(0, head_age - rng.randint(22, 36)), g))
        if 28 <= head_age <= 55 and rng.random() < 0.15:
            g = rng.choice("12")
            plan.append(("51" if g == "1" else "52", head_age + rng.randint(24, 32), g))
        plan = plan[:room]
        surname = rng.choice(SURNAMES)
        members: list[Resident] = []
        for rel, age, g in plan:
            person = self._person(
                rel,
                min(age, 104),
                g,
                surname,
                hid,
                comm.code,
                grid_code,
                address,
                hukou,
            )
            members.append(person)
        head = members[0]
        for m in members:
            m.head_name, m.head_id = head.name, head.citizen_id
        return members

    def _person(
        self,
        rel: str,
        age: int,
        gender: str,
        surname: str,
        hid: str,
        comm: str,
        grid: str,
        address: str,
        hukou: str,
    ) -> Resident:
        rng = self.rng
        birth = AS_OF - timedelta(days=age * 365 + rng.randint(0, 364))
        cid = self._unique_id(birth, gender)
        own_surname = surname if rel in ("02", "20", "30") else rng.choice(SURNAMES)
        name = own_surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        adult = age >= 18
        return Resident(
            citizen_id=cid,
            name=name,
            gender=gender,
            birth_date=birth,
            ethnicity=rng.choices(
                ["01", "03", "08", "22", "11", "06"], weights=[92, 2, 2, 2, 1, 1]
            )[0],
            household_id=hid,
            relation=rel,
            head_name="",
            head_id="",
            community_code=comm,
            grid_code=grid,
            address=address,
            registered_address=address,
            hukou_type=hukou,
            marital=("20" if rel in ("02", "10") and adult else "10")
            if age < 70
            else rng.choice(["20", "20", "30"]),
            education=_education(rng, age),
            political=rng.choices(["13", "01", "03"], weights=[80, 12, 8])[0]
            if age >= 14
            else "13",
            employment=_employment(rng, age),
            employer=self._employer() if 22 <= age < 60 and rng.random() < 0.6 else None,
            health=rng.choices(["1", "2", "3", "31", "37"], weights=[60, 15, 10, 10, 5])[0]
            if age >= 60
            else "1",
            phone=self._phone() if age >= 14 else None,
            former_name=surname + rng.choice(GIVEN) if rng.random() < 0.02 else None,
        )

    def _unique_id(self, birth: date, gender: str) -> str:
        while True:
            seq = self.rng.randrange(1, 999)
            if (seq % 2 == 1) != (gender == "1"):
                seq = seq + 1 if seq < 998 else seq - 1
            area = self.rng.choice(BIRTH_AREAS)
            if area == SAMPLE_DISTRICT:  # born here: the district's own code
                area = self.orgs.district.code
            cid = make_id(area, birth, seq)
            if cid not in self.ids:
                self.ids.add(cid)
                return cid

    def _employer(self) -> str:
        d = self.orgs.district
        return (
            self.rng.choice(EMPLOYERS).replace("青禾区", d.name).replace("杭州", d.city[:2] or "")
        )

    def _phone(self) -> str:
        while True:
            p = f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
            if p not in self.phones:
                self.phones.add(p)
                return p

    def new_phone(self) -> str:
        return self._phone()


def road_of(comm: Community) -> str:
    """The street addresses in `comm` are on: the sample's `road`, else one named for the
    community (和平社区 -> 和平路, 红旗村 -> 红旗村路) for a district imported without roads."""
    if comm.road:
        return comm.road
    core = comm.name.removesuffix("社区")
    return core + ("路" if not core.endswith("路") else "")


def _education(rng: random.Random, age: int) -> str:
    if age < 7:
        return "90"
    if age < 13:
        return "80"
    if age < 16:
        return "70"
    return rng.choices(
        ["10", "20", "30", "40", "60", "70", "80", "90"], weights=[3, 15, 14, 10, 20, 25, 10, 3]
    )[0]


def _employment(rng: random.Random, age: int) -> str:
    if age < 22:
        return "31" if age >= 6 else "90"
    if age >= 60:
        return "80" if rng.random() < 0.7 else "27"
    return rng.choices(
        ["17", "24", "27", "54", "13", "70", "51"], weights=[25, 20, 15, 10, 10, 10, 10]
    )[0]
