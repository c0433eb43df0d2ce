"""`hub city sample`: a generated city of several districts, for tests and the benchmark.

Each district gets its own org units (`schemas/districts/<code>/orgunits.yaml`) and its
departments' files in its own inbox (`data/districts/<code>/incoming/`), damaged like the
one-district sample. Residents of the next district live in this one: they appear in every file
here but the household register, whose address (and so their residence) stays there.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.atomic import write_text
from hub.city.districts import district_settings
from hub.ingest.orgunits import tree_yaml
from hub.registry import load_registry
from hub.registry.files import DISTRICTS
from hub.registry.orgunits import Community, District, Grid, OrgTree, Street
from hub.sample import generate_sample
from hub.sample.people import Resident
from hub.settings import Settings

PROVINCE, CITY = "浙江省", "杭州市"
# GB/T 2260 codes and names of a city's districts (the sample city has up to eight)
NAMES = [
    ("330102", "上城区"),
    ("330105", "拱墅区"),
    ("330106", "西湖区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
    ("330113", "临平区"),
    ("330114", "钱塘区"),
]
_STREETS = ["清波", "湖滨", "小营", "望江", "南星", "紫阳", "凯旋", "采荷"]
_COMMUNITIES = ["和平", "幸福", "东园", "西湖", "春晖", "锦绣", "文苑", "长庆", "北山", "柳营"]


@dataclass
class CitySample:
    districts: list[str]
    residents: dict[str, int] = field(default_factory=dict)
    movers: dict[str, int] = field(
        default_factory=dict
    )  # district -> residents of another living there
    rows: int = 0


def city_sample(
    settings: Settings,
    districts: int = 3,
    residents: int = 400,
    movers: int = 100,
    seed: int = 7,
    error_rate: float = 0.03,
    progress: Callable[[str], None] | None = None,
) -> CitySample:
    if not 2 <= districts <= len(NAMES):
        raise ValueError(f"样例城市的区县数应在 2 到 {len(NAMES)} 之间，收到 {districts}")
    if not 0 <= movers <= residents // 2:
        raise ValueError(f"跨区居民数应在 0 到居民数的一半（{residents // 2}）之间，收到 {movers}")
    chosen = NAMES[:districts]
    out = CitySample(districts=[c for c, _ in chosen])
    ids: set[str] = set()  # one city, one pool of ID numbers
    rng = random.Random(seed)
    upstream: list[Resident] = []
    # the last district first: each district takes residents of the one after it
    for i, (code, name) in reversed(list(enumerate(chosen))):
        if progress:
            progress(f"{name}（{code}）")
        tree = _tree(code, name, i)
        write_text(
            settings.schemas / DISTRICTS / code / "orgunits.yaml",
            tree_yaml(tree, "hub city sample"),
        )
        own = district_settings(settings, code)
        visitors = rng.sample(upstream, min(movers, len(upstream))) if upstream else []
        got = generate_sample(
            load_registry(own.schemas),
            own.incoming,
            own.truth,
            residents=residents,
            seed=seed * 100 + i,
            error_rate=error_rate,
            ids=ids,
            visitors=visitors,
        )
        out.residents[code], out.movers[code], out.rows = (
            got.residents,
            len(visitors),
            out.rows + got.rows,
        )
        # a neighbour district sees a resident in its departments' files, not in its register
        upstream = [p for p in got.people if p.age() >= 18 and p.citizen_id in got.listed]
    return out


def _tree(code: str, name: str, i: int) -> OrgTree:
    """Two streets of three communities, two grids each; names differ between districts."""
    streets = []
    for s in range(2):
        scode = f"{code}{s + 1:03d}"
        sname = _STREETS[(2 * i + s) % len(_STREETS)] + "街道"
        comms = []
        for c in range(3):
            ccode = f"{scode}{c + 1:03d}"
            word = _COMMUNITIES[(3 * (2 * i + s) + c) % len(_COMMUNITIES)]
            cname = f"{word}社区"
            comms.append(
                Community(
                    code=ccode,
                    name=cname,
                    road=f"{sname[:2]}{word}路",
                    grids=[
                        Grid(code=f"{ccode}{g + 1:03d}", name=f"{cname}第{g + 1}网格")
                        for g in range(2)
                    ],
                )
            )
        streets.append(Street(code=scode, name=sname, communities=comms))
    return OrgTree(
        district=District(code=code, name=name, province=PROVINCE, city=CITY), streets=streets
    )
