"""The review queue as people see it: both sides of each uncertain pair, and their verdicts.

Reads the queue the last run wrote (read-only); a verdict goes to the decisions file and
takes effect on the next run. Pairs decided since the last run are no longer offered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.link.decisions import latest, pair, record
from hub.registry.loader import Registry
from hub.settings import Settings
from hub.warehouse import table_exists, warehouse

GENDER = {"1": "男", "2": "女"}


@dataclass
class Side:
    key: str
    kind: str  # 按身份证号码确认的居民 | 部门记录
    name: str | None
    citizen_id: str | None
    birth_date: str | None
    gender: str | None
    phone: str | None
    address: str | None
    departments: list[str] = field(default_factory=list)


@dataclass
class Pair:
    pair_id: str
    probability: float
    evidence: str
    left: Side
    right: Side

    def to_json(self) -> dict[str, Any]:
        return {
            "pair_id": self.pair_id,
            "match_probability": self.probability,
            "evidence": self.evidence,
            "left": self.left.__dict__,
            "right": self.right.__dict__,
        }


def pending(settings: Settings, registry: Registry) -> list[Pair]:
    """Pairs waiting for a verdict, most likely first."""
    if not settings.warehouse.exists():
        return []
    decided = latest(settings.decisions)
    with warehouse(settings.warehouse, read_only=True, resources=settings.resources) as con:
        if not table_exists(con, "core", "review_queue"):
            return []
        rows = con.execute(
            "SELECT q.pair_id, q.match_probability, q.evidence, "
            "a.unique_id, a.grp, a.name, a.id_text, a.birth, a.gender, a.phone, a.address, a.sources, "
            "b.unique_id, b.grp, b.name, b.id_text, b.birth, b.gender, b.phone, b.address, b.sources "
            "FROM core.review_queue q JOIN core.link_nodes a ON a.unique_id = q.a "
            "JOIN core.link_nodes b ON b.unique_id = q.b ORDER BY q.match_probability DESC, q.pair_id"
        ).fetchall()
    out = []
    for r in rows:
        left, right = _side(r[3:12], registry), _side(r[12:21], registry)
        if pair(left.key, right.key) not in decided:
            out.append(Pair(r[0], float(r[1]), r[2] or "", left, right))
    return out


def capped_rows(settings: Settings) -> list[dict[str, Any]]:
    """Rows left alone because their block was too large to compare (hub.link.run._cap)."""
    if not settings.warehouse.exists():
        return []
    with warehouse(settings.warehouse, read_only=True, resources=settings.resources) as con:
        if not table_exists(con, "core", "link_capped"):
            return []
        res = con.execute("SELECT * FROM core.link_capped")
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


def decide(
    settings: Settings, registry: Registry, pair_id: str, decision: str, by: str, note: str = ""
) -> Pair:
    """Record a verdict on a waiting pair; raises LookupError for an unknown pair."""
    found = next((p for p in pending(settings, registry) if p.pair_id == pair_id), None)
    if found is None:
        raise LookupError(f"待复核队列中没有配对 {pair_id}（可能已处理，或尚未运行 hub run）")
    record(settings.decisions, found.left.key, found.right.key, decision, by, note)
    return found


def _side(values: tuple[Any, ...], registry: Registry) -> Side:
    key, grp, name, id_text, birth, gender, phone, address, sources = values
    return Side(
        key=key,
        kind="按身份证号码确认的居民" if grp == "R" else "部门记录",
        name=name,
        citizen_id=id_text,
        birth_date=f"{birth[:4]}-{birth[4:6]}-{birth[6:]}" if birth and len(birth) == 8 else birth,
        gender=GENDER.get(gender or "", gender),
        phone=phone,
        address=address,
        departments=[
            registry.sources[s].department if s in registry.sources else s for s in sources or []
        ],
    )
