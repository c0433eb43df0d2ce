"""Code lists and org units as lookup tables on the connection, rebuilt from the registry."""

from __future__ import annotations

import duckdb

from hub.registry.loader import Registry
from hub.registry.models import normalize_code_key
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


def org_keys(registry: Registry) -> list[tuple[str, str, str]]:
    d = registry.orgs.district
    rows: set[tuple[str, str, str]] = set()
    for s in registry.orgs.streets:
        for spelling in (s.code, s.name, d.name + s.name):
            rows.add(("street", normalize_code_key(spelling), s.code))
        for c in s.communities:
            for spelling in (
                c.code,
                c.name,
                s.name + c.name,
                d.name + s.name + c.name,
                d.city + d.name + s.name + c.name,
            ):
                rows.add(("community", normalize_code_key(spelling), c.code))
            for g in c.grids:
                for spelling in (g.code, g.name, s.name + g.name):
                    rows.add(("grid", normalize_code_key(spelling), g.code))
    return sorted(rows)
