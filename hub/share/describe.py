"""What a grant holds, in words a department analyst reads: each column's label, whether and
how it is masked, its code list; which rows (jurisdiction and population); and code labels
beside the codes in query results (`gender` and `gender_label`)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hub.registry.loader import Registry
from hub.registry.reports import Condition
from hub.registry.shares import Share
from hub.share.tables import KEY, mask_text, masked

LABEL_SUFFIX = "_label"


def describe_grant(registry: Registry, share: Share) -> dict[str, Any]:
    """A grant as the API's `/datasets` and `hub query --describe` show it."""
    return {
        "name": share.name,
        "title": share.title,
        "department": share.department,
        "share_type": share.share_type,
        "purpose": share.purpose,
        "expires": share.expires,
        "rows": describe_rows(registry, share),
        "fields": [_column(registry, share, name) for name in share.fields],
        "key": {"name": KEY, "label": "人员编号（不可逆，可用于关联与日志）"},
    }


def _column(registry: Registry, share: Share, name: str) -> dict[str, Any]:
    f = registry.fields[name]
    hidden = masked(share, f)
    out: dict[str, Any] = {
        "name": name,
        "label": f.label,
        "type": f.type,
        "masked": hidden,
        "mask": mask_text(f, share) if hidden else "",
        "codelist": None,
        "label_column": None,
    }
    codes = code_labels(registry, name)
    if codes and not hidden:
        out["codelist"] = {
            "name": f.codelist or f.orgunit_level or "",
            "label": registry.codelists[f.codelist].label if f.codelist else "行政区划",
            "codes": [{"code": c, "label": lab} for c, lab in codes.items()],
        }
        out["label_column"] = name + LABEL_SUFFIX
    return out


def describe_rows(registry: Registry, share: Share) -> dict[str, Any]:
    """Which residents a grant covers, as text and as parts."""
    names = _org_names(registry)
    places = [{"code": c, "name": names.get(c, c)} for c in share.rows.jurisdiction]
    conditions = [condition_text(registry, c) for c in share.rows.population]
    whole = "全市" if share.dataset == "city_person" else f"{registry.orgs.district.name}全区"
    where = "、".join(p["name"] for p in places) or whole
    text = f"{where}{'，'.join(conditions)}的居民" if conditions else f"{where}的全部居民"
    return {"jurisdiction": places, "population": conditions, "text": text}


def condition_text(registry: Registry, c: Condition) -> str:
    """One population condition in Chinese, e.g. 「救助类型为城市低保、特困供养」."""
    if c.age is not None:
        lo, hi = c.age.min, c.age.max
        if lo is not None and hi is not None:
            return f"年龄 {lo}～{hi} 岁"
        return f"年龄 {lo} 岁及以上" if lo is not None else f"年龄 {hi} 岁及以下"
    f = registry.fields[c.field or ""]
    if c.present is not None:
        return f"有{f.label}" if c.present else f"无{f.label}"
    labels = code_labels(registry, f.name)
    return f"{f.label}为" + "、".join(labels.get(v, v) for v in c.in_ or [])


def code_labels(registry: Registry, name: str) -> dict[str, str]:
    """code -> label for a code field (code list or org unit); empty for other fields."""
    f = registry.fields.get(name)
    if f is None:
        return {}
    if f.codelist:
        return {e.code: e.label for e in registry.codelists[f.codelist].entries}
    if f.normalize == "orgunit":
        return _org_names(registry)
    return {}


def with_labels(table: pa.Table, registry: Registry, skip: set[str] | None = None) -> pa.Table:
    """`table` with `<code field>_label` after each code column it has (vectorised lookup).

    `skip`: columns whose values are masked, so a label would be meaningless."""
    out = table
    for name in table.column_names:
        labels = code_labels(registry, name)
        if not labels or name in (skip or set()) or name + LABEL_SUFFIX in out.column_names:
            continue
        column = table.column(name)
        if pa.types.is_boolean(column.type):  # yes/no fields are stored as booleans
            column = pc.if_else(column, "1", "0")
        column = pc.cast(column, pa.string())
        codes = pa.array(list(labels), pa.string())
        taken = pc.take(pa.array(list(labels.values()), pa.string()), pc.index_in(column, codes))
        out = out.add_column(out.schema.get_field_index(name) + 1, name + LABEL_SUFFIX, taken)
    return out


def _org_names(registry: Registry) -> dict[str, str]:
    """Names of the units a grant may name: the district's, and in a city every district's
    (a city view's grant may cover whole districts and other districts' units)."""
    names: dict[str, str] = {}
    for tree in (*registry.neighbours, registry.orgs):
        prefix = tree.district.name if registry.neighbours else ""
        names[tree.district.code] = tree.district.name
        names |= {s.code: prefix + s.name for s in tree.streets}
        for c in tree.communities:
            names[c.code] = (prefix + tree.street_of(c.code).name if prefix else "") + c.name
            names |= {g.code: g.name for g in c.grids}
    return names
