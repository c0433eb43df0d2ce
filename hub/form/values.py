"""Between the golden record and the form: values as text, choices, and what changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hub.form.consolidated import ConsolidatedForm, FormField
from hub.registry.loader import Registry

# what identifies the resident in a submission, sent whether changed or not
IDENTITY = ("citizen_id", "name", "gender", "birth_date", "community_code")


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def form_values(form: ConsolidatedForm, person: dict[str, Any] | None) -> dict[str, str]:
    return {f.name: as_text((person or {}).get(f.name)) for f in form.fields}


def choices(registry: Registry, f: FormField, community: str) -> list[tuple[str, str]]:
    """The options of a select: code-list entries, or the org units a staff member may pick."""
    if f.name == "community_code":
        c = next(c for c in registry.orgs.communities if c.code == community)
        return [(c.code, c.name)]
    if f.name == "grid_code":
        c = next(c for c in registry.orgs.communities if c.code == community)
        return [(g.code, g.name) for g in c.grids]
    return f.choices


def locked(f: FormField, original: dict[str, str]) -> bool:
    """A value held by its authority (公安, 民政 …) is shown, not edited."""
    return bool(f.authority) and bool(original.get(f.name))


def to_submit(
    form: ConsolidatedForm, original: dict[str, str], entered: dict[str, str]
) -> dict[str, str]:
    """The identity keys and every field staff changed; locked fields keep their value."""
    out = {}
    for f in form.fields:
        before = original.get(f.name, "")
        after = before if locked(f, original) else entered.get(f.name, "").strip()
        if f.name in IDENTITY or after != before:
            out[f.name] = after
    return out
