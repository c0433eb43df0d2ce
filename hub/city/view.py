"""The city record: every district's published persons merged by citizen ID.

A citizen whose verified ID appears in several districts becomes one city record. Each value
comes from the district of current residence — the district whose 公安-authored address is the
newest — or, where that district has none, from the next district in that order; the
districts' differing values are listed as cross-district conflicts. Persons without a verified
ID stay their district's own record. All set-at-a-time in one DuckDB connection.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from hub.atomic import write_json
from hub.city.districts import (
    DistrictError,
    city_data,
    city_settings,
    city_wide_registry,
    district_codes,
    district_settings,
)
from hub.publish.snapshot import PublishResult, dataset_sql, publish, read_current
from hub.registry import Registry
from hub.resources import Resources
from hub.run_lock import run_lock
from hub.settings import Settings
from hub.share.audit import head as audit_head
from hub.share.tables import build_share_views
from hub.warehouse import lit, q, warehouse

LAST_BUILD = "last_build.json"  # what the last city step took, beside its warehouse
PERSON, PROVENANCE, CONFLICTS = "city_person", "city_provenance", "city_conflicts"
DATASETS = {
    PERSON: ("core.person", "person_id"),
    PROVENANCE: ("core.city_provenance", "person_id, field, district"),
    CONFLICTS: ("core.city_conflicts", "person_id, field"),
}
# the addresses 公安 writes (a register has the hukou address, a residence permit the current
# one): the district with the newest of them is where the citizen lives
ADDRESSES = ("current_address", "registered_address")
# columns of a district's person that are not one field's value: merged their own way
_MERGED = {
    "person_id": None,
    "sources": "list_sort(list_distinct(flatten(list(sources))))",
    "last_observed_at": "max(last_observed_at)",
    "by_id": "bool_or(by_id)",
    "rows_by_model": "sum(rows_by_model)::BIGINT",
    "id_unverified": "bool_or(id_unverified)",
}


class CityError(ValueError):
    """The city view cannot be built (the message is Chinese)."""


@dataclass
class CityResult:
    districts: list[str]
    missing: list[str] = field(default_factory=list)  # districts with nothing published yet
    unreadable: dict[str, str] = field(default_factory=dict)  # district -> why (also missing)
    persons: int = 0
    cross_district: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    published: PublishResult | None = None


def build_city(settings: Settings) -> CityResult:
    """Merge the districts' current releases into the city view and publish it atomically in
    `data/city/published` (a reader sees the old view or the new one)."""
    t0 = time.perf_counter()
    codes = district_codes(settings)
    if not codes:
        raise CityError(
            "本部署没有区县（schemas/districts/<代码>/orgunits.yaml），无法生成全市视图"
        )
    out = CityResult(districts=codes)
    registry = city_registry(settings)
    folder = city_data(settings)
    # one city step at a time (its warehouse has one writer): a second is told so in Chinese
    with (
        run_lock(folder),
        warehouse(folder / "warehouse.duckdb", resources=city_resources(settings)) as con,
    ):
        # each district's release read once: its datasets all from that one release, though
        # the district may publish meanwhile
        inputs: dict[str, tuple[Path, dict[str, Any]]] = {}
        for code in codes:
            published = district_settings(settings, code).published
            release = _release(con, published)
            if isinstance(release, str):
                out.missing.append(code)
                out.unreadable[code] = release
            elif release is None:
                out.missing.append(code)
            else:
                inputs[code] = (published, release)
        if not inputs:
            raise CityError("还没有任何区县发布过数据：请先运行 hub run")
        con.execute("CREATE SCHEMA IF NOT EXISTS core")
        _inputs(con, inputs, _police(registry))
        _merge(con, _secret(settings, folder))
        out.persons, out.cross_district, out.conflicts = con.execute(
            "SELECT (SELECT count(*) FROM core.person), "
            "(SELECT count(*) FROM core.person WHERE len(districts) > 1), "
            "(SELECT count(DISTINCT person_id) FROM core.city_conflicts)"
        ).fetchone() or (0, 0, 0)
        grants = build_share_views(con, registry, date.today())
        own = city_settings(settings)
        # the city's access log's head goes into the release, as a district's does
        out.published = publish(
            con, own.published, DATASETS | grants, {"audit_head": audit_head(own)}
        )
    out.seconds = round(time.perf_counter() - t0, 3)
    write_json(folder / LAST_BUILD, {k: v for k, v in out.__dict__.items() if k != "published"})
    return out


def city_resources(settings: Settings, env: Mapping[str, str] | None = None) -> Resources:
    """What the city step may use: HUB_CITY_THREADS / HUB_CITY_MEMORY_MB where set, else the
    usual settings. It runs after every district step, alone: a worker held to its share of
    the machine for district steps (HUB_THREADS) may give the city step the whole machine."""
    env = os.environ if env is None else env
    own = {
        var: env[f"HUB_CITY_{var[4:]}"]
        for var in ("HUB_THREADS", "HUB_MEMORY_MB")
        if env.get(f"HUB_CITY_{var[4:]}", "").strip()
    }
    return Resources.load(settings.schemas, settings.data, env={**env, **own})


def city_registry(settings: Settings) -> Registry:
    """The registries as the city view sees them: the city's (read through a district, whose
    neighbours are all the others), with only the grants of the city view."""
    try:
        registry = city_wide_registry(settings)
    except DistrictError as exc:
        raise CityError(str(exc)) from exc
    return replace(registry, shares=registry.city_shares)


def _release(con: duckdb.DuckDBPyConnection, published: Path) -> dict[str, Any] | str | None:
    """A district's current release (None before its first), or why it cannot be read (a
    damaged pointer or snapshot): that district is left out, the others still merge."""
    try:
        release = read_current(published)
        if release is not None:
            for name in ("person", "provenance"):
                con.execute(f"SELECT count(*) FROM ({dataset_sql(published, name, release)})")
        return release
    except (OSError, ValueError, KeyError, TypeError, duckdb.Error) as exc:
        return f"发布的数据无法读取（{published}）：{exc}"


def _police(registry: Registry) -> list[str]:
    """The names of the departments whose address is a resident's registered residence."""
    return [d.name for d in registry.departments.departments if d.kind == "公安"]


def _secret(settings: Settings, folder: Path) -> str:
    """The city's key for its record ids (its own: a district's key stays the district's)."""
    return Settings(schemas=settings.schemas, data=folder).secret()


def _inputs(
    con: duckdb.DuckDBPyConnection,
    inputs: dict[str, tuple[Path, dict[str, Any]]],
    police: list[str],
) -> None:
    """`_city_in`: every district's persons with their district, the date of their newest
    公安 address there, and the key they merge on."""
    persons = " UNION ALL BY NAME ".join(
        f"SELECT {lit(code)} AS district, * FROM ({dataset_sql(root, 'person', release)})"
        for code, (root, release) in inputs.items()
    )
    departments = ", ".join(lit(d) for d in police) or "NULL"
    lived = " UNION ALL ".join(
        f"SELECT {lit(code)} AS district, person_id, observed_at "
        f"FROM ({dataset_sql(root, 'provenance', release)}) "
        f"WHERE field IN ({', '.join(lit(f) for f in ADDRESSES)}) AND department IN ({departments})"
        for code, (root, release) in inputs.items()
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _lived AS SELECT district, person_id, "
        f"max(observed_at) AS lived_at FROM ({lived}) GROUP BY ALL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _city_in AS SELECT p.*, l.lived_at, "
        "CASE WHEN p.citizen_id IS NOT NULL AND NOT coalesce(p.id_unverified, false) "
        "THEN p.citizen_id ELSE p.district || ':' || p.person_id END AS _key "
        f"FROM ({persons}) p LEFT JOIN _lived l USING (district, person_id)"
    )


def _merge(con: duckdb.DuckDBPyConnection, secret: str) -> None:
    """core.person (one row per key), core.city_provenance (every district's value of each
    person found in more than one district) and core.city_conflicts."""
    cols = [
        c
        for (c,) in con.execute("SELECT column_name FROM (DESCRIBE _city_in)").fetchall()
        if c not in ("district", "lived_at", "_key")
    ]
    values = [c for c in cols if c not in _MERGED]
    rid = f"'C' || left(sha256({lit(secret)} || _key), 16)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ranked AS SELECT *, "
        f"{rid} AS _city_id, row_number() OVER (PARTITION BY _key ORDER BY lived_at DESC "
        "NULLS LAST, last_observed_at DESC NULLS LAST, district) AS _rank, "
        "count(*) OVER (PARTITION BY _key) AS _n FROM _city_in"
    )
    aggs = [f"arg_min({q(c)}, _rank) FILTER (WHERE {q(c)} IS NOT NULL) AS {q(c)}" for c in values]
    aggs += [f"{sql} AS {q(c)}" for c, sql in _MERGED.items() if sql and c in cols]
    con.execute(
        "CREATE OR REPLACE TABLE core.person AS SELECT _city_id AS person_id, "
        "arg_min(district, _rank) AS district, list(district ORDER BY _rank) AS districts, "
        "list(district || ':' || person_id ORDER BY _rank) AS district_person_ids, "
        f"{', '.join(aggs)} FROM _ranked GROUP BY _city_id"
    )
    unpivot = ", ".join(f"CAST({q(c)} AS VARCHAR) AS {q(c)}" for c in values if c != "citizen_id")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _values AS SELECT * FROM (UNPIVOT (SELECT _city_id, "
        f"district, person_id, _rank, {unpivot} FROM _ranked WHERE _n > 1) "
        f"ON COLUMNS(* EXCLUDE (_city_id, district, person_id, _rank)) "
        "INTO NAME field VALUE value)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.city_provenance AS SELECT _city_id AS person_id, field, "
        "value, district, person_id AS district_person_id, "
        "_rank = min(_rank) OVER (PARTITION BY _city_id, field) AS selected FROM _values"
    )
    con.execute(
        "CREATE OR REPLACE TABLE core.city_conflicts AS SELECT person_id, field, "
        "arg_min(value, NOT selected) AS chosen_value, "
        "arg_min(district, NOT selected) AS chosen_district, count(DISTINCT value) AS n_values, "
        "list({'value': value, 'district': district} ORDER BY district) AS candidates "
        "FROM core.city_provenance GROUP BY person_id, field HAVING count(DISTINCT value) > 1"
    )
