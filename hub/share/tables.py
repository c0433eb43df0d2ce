"""What a grant lets a department see: its columns (sensitive ones masked), its rows.

Each active grant becomes a view `shared.<grant>` over `core.person`, published with the
core datasets as its own Parquet snapshot. Departments read the snapshot, never `core`:
what is not granted is not in their file at all.
"""

from __future__ import annotations

from datetime import date

import duckdb

from hub.registry.loader import Registry
from hub.registry.models import Field
from hub.registry.shares import Share
from hub.reports.build import population_sql
from hub.warehouse import lit, q

KEY = "person_id"  # opaque (keyed hash), in every shared table: joins and the access log
# characters kept at each end when masking, by normalizer: 6501**********123X, 138****5678
_KEEP = {"cn_id": (4, 4), "phone": (3, 4)}


def shared_dataset(share: Share) -> str:
    return f"shared/{share.name}"


def masked(share: Share, f: Field) -> bool:
    return f.sensitivity == "sensitive" and f.name not in share.unmasked


def keep(f: Field, share: Share) -> tuple[int, int]:
    """Characters a mask keeps at each end, designed against what else the grant shows: an ID
    number's digits are its area, birth date and sex, so beside a granted birth date its kept
    ends would leave only a few candidates — there it keeps nothing (person_id identifies the
    row)."""
    if f.normalize == "cn_id" and "birth_date" in share.fields:
        return (0, 0)
    return _KEEP.get(f.normalize or "", (0, 4))


def mask_sql(f: Field, column: str, share: Share) -> str:
    """The masked text of a value: its ends kept, the middle starred (numbers fully)."""
    v = f"CAST({column} AS VARCHAR)"
    if f.type in ("integer", "decimal"):
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE '***' END"
    head, tail = keep(f, share)
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN length({v}) <= {head + tail} THEN repeat('*', length({v})) "
        f"ELSE left({v}, {head}) || repeat('*', length({v}) - {head + tail}) || right({v}, {tail}) END"
    )


def mask_text(f: Field, share: Share) -> str:
    """How `mask_sql` hides a value, in words (for the grant's description)."""
    if f.type in ("integer", "decimal"):
        return "整体隐藏（显示为 ***）"
    if f.type in ("code", "boolean"):
        return "整体隐藏（代码全部显示为 *）"
    head, tail = keep(f, share)
    if not head and not tail:
        return "整体隐藏（全部为 *；本授权含出生日期，号码露出的位数会让人推算出全号）"
    kept = f"前 {head} 位和后 {tail} 位" if head else f"后 {tail} 位"
    return f"打码：只显示{kept}，其余为 *"


def share_sql(share: Share, registry: Registry, as_of: date) -> str:
    cols = [f"p.{KEY}"]
    for name in share.fields:
        f = registry.fields[name]
        expr = mask_sql(f, f"p.{q(name)}", share) if masked(share, f) else f"p.{q(name)}"
        cols.append(f"{expr} AS {q(name)}")
    where = [population_sql(share.rows.population, registry, as_of)]
    if share.rows.jurisdiction:
        places = " OR ".join(
            f"starts_with(p.community_code, {lit(c)})" for c in share.rows.jurisdiction
        )
        where.append(f"({places})")
    return f"SELECT {', '.join(cols)} FROM core.person p WHERE {' AND '.join(where)}"


def build_share_views(
    con: duckdb.DuckDBPyConnection, registry: Registry, as_of: date
) -> dict[str, tuple[str, str]]:
    """Create `shared.<grant>` for every active grant of `registry` over the `core.person` of
    `con` (a district's grants, or the city view's: hub.city.view.city_registry); returns them
    as datasets to publish."""
    con.execute("CREATE SCHEMA IF NOT EXISTS shared")
    out = {}
    for share in registry.shares.values():
        if not share.active(as_of):
            con.execute(f"DROP VIEW IF EXISTS shared.{q(share.name)}")
            continue
        con.execute(
            f"CREATE OR REPLACE VIEW shared.{q(share.name)} AS {share_sql(share, registry, as_of)}"
        )
        out[shared_dataset(share)] = (f"shared.{q(share.name)}", KEY)
    return out
