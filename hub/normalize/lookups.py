"""Code lists and org units as lookup tables on the connection, rebuilt from the registry."""

from __future__ import annotations

import duckdb

from hub.registry.loader import Registry
from hub.registry.models import normalize_code_key
from hub.registry.orgunits import name_variants, short_name
from hub.warehouse import temp_table


def load_lookups(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Create temp tables `hub_codes(codelist, key, code)` and `hub_orgs(level, key, code)`."""
    codes = [
        (cl.name, key, code)
        for cl in registry.codelists.values()
        for key, code in cl.lookup().items()
    ]
    temp_table(con, "hub_codes", ["codelist", "key", "code"], codes)
    temp_table(con, "hub_orgs", ["level", "key", "code"], org_keys(registry))
    # every spelling, also one two units share (two 和平社区): a column of them is still a
    # community column, though such a value needs its street to name one unit
    temp_table(con, "hub_org_names", ["level", "key"], org_spellings(registry))
    temp_table(con, "hub_elsewhere", ["key", "district"], elsewhere_keys(registry))


def elsewhere_keys(registry: Registry) -> list[tuple[str, str]]:
    """(key, district) of the communities of the city's other districts: by code, and by every
    spelling that names their street or district (清波街道和平社区, 上城区和平社区); a bare
    和平社区 may be one of ours mistyped, and a spelling two other districts share says no one."""
    found: dict[str, set[str]] = {}
    for tree in registry.neighbours:
        d = tree.district
        for s in tree.streets:
            streets = set().union(*(name_variants(n) for n in (s.name, *s.aliases)))
            for c in s.communities:
                names = set().union(*(name_variants(n) for n in (c.name, *c.aliases)))
                qualified = {st + n for st in streets for n in names}
                spellings = {c.code} | qualified | {d.name + n for n in names}
                spellings |= {d.name + q for q in qualified} | {
                    d.city + d.name + q for q in qualified
                }
                for spelling in spellings:
                    found.setdefault(normalize_code_key(spelling), set()).add(
                        f"{d.name}（{d.code}）"
                    )
    return sorted((key, next(iter(ds))) for key, ds in found.items() if len(ds) == 1)


def org_spellings(registry: Registry) -> list[tuple[str, str]]:
    """(level, key) of every spelling `org_keys` considers, ambiguous ones included."""
    return sorted({(lvl, key) for lvl, key, _ in _org_keys(registry, unique=False)})


def org_keys(registry: Registry) -> list[tuple[str, str, str]]:
    return _org_keys(registry, unique=True)


def _org_keys(registry: Registry, unique: bool) -> list[tuple[str, str, str]]:
    """(level, key, code) for every spelling of every unit: codes, names in the district's
    spellings (和平社区 / 和平 / 和平社区居委会, its aliases) alone and qualified by the units
    above. With `unique`, a spelling that two units of one level share (two 和平社区 in
    different streets) is dropped: only its qualified forms name a unit."""
    d = registry.orgs.district
    keys: dict[tuple[str, str], set[str]] = {}

    def add(level: str, spellings: set[str], code: str) -> None:
        for spelling in spellings:
            keys.setdefault((level, normalize_code_key(spelling)), set()).add(code)

    for s in registry.orgs.streets:
        street_names = set().union(*(name_variants(n) for n in (s.name, *s.aliases)))
        add("street", {s.code} | street_names | {d.name + n for n in street_names}, s.code)
        for c in s.communities:
            names = set().union(*(name_variants(n) for n in (c.name, *c.aliases)))
            qualified = {s.name + n for n in names} | {short_name(s.name) + n for n in names}
            add(
                "community",
                {c.code}
                | names
                | qualified
                | {d.name + q for q in qualified}
                | {d.city + d.name + q for q in qualified},
                c.code,
            )
            for g in c.grids:
                add("grid", {g.code, g.name, s.name + g.name}, g.code)
    return sorted(
        (lvl, key, sorted(codes)[0])
        for (lvl, key), codes in keys.items()
        if len(codes) == 1 or not unique
    )
