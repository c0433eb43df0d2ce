"""Between the golden record and the form: values as text, choices, and what changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hub.form.consolidated import ConsolidatedForm, FormField
from hub.registry.loader import Registry

# what identifies the resident in a submission, sent whether changed or not (an unchanged one
# is carried for linkage only: it is not an observation)
IDENTITY = ("citizen_id", "id_unverified", "name", "gender", "birth_date", "community_code")
# fixed once known, like values held by an authority: the ID identifies the resident
FIXED_ONCE_KNOWN = ("citizen_id",)


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
    """Shown, not edited: a value held by its authority (公安, 民政 …), a known ID number, and
    the community (staff work in their own)."""
    if f.name == "community_code":
        return True
    fixed = bool(f.authority) or f.name in FIXED_ONCE_KNOWN
    return fixed and bool(original.get(f.name))


def to_submit(
    form: ConsolidatedForm, original: dict[str, str], entered: dict[str, str], new: bool = False
) -> tuple[dict[str, str], list[str]]:
    """(values, changed): the identity keys and every field staff changed, and which fields
    the submission asserts — what changed, or for a new resident every value given. Locked
    fields keep their value."""
    out, changed = {}, []
    for f in form.fields:
        before = original.get(f.name, "")
        after = before if locked(f, original) else entered.get(f.name, "").strip()
        if f.name in IDENTITY or after != before:
            out[f.name] = after
        if (after != before) or (new and after):
            changed.append(f.name)
    return out, changed
