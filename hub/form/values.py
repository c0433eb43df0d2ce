"""Between the golden record and the form: values as text, choices, and what changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from hub.core.corrections import SOURCE as CORRECTION_SOURCE
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


def locked(f: FormField, record: dict[str, str], held: set[str] | None = None) -> bool:
    """Shown, not edited: the community (staff work in their own), a known ID number, and a
    value its authority holds (公安, 民政 …). `record` is the published record; `held` the
    fields whose value came from their authority (None: every known value of an authority
    field counts). A value staff entered themselves stays theirs to correct."""
    if f.name == "community_code":
        return True
    if not record.get(f.name):
        return False
    if f.name in FIXED_ONCE_KNOWN:
        return True
    return bool(f.authority) and (held is None or f.name in held)


def held_fields(form: ConsolidatedForm, sources: dict[str, str]) -> set[str]:
    """Fields whose value came from their authority (or from a correction it accepted),
    given the source of each value."""
    return {
        f.name
        for f in form.fields
        if sources.get(f.name) in (*f.authority_sources, CORRECTION_SOURCE)
    }


@dataclass
class Entry:
    """What a form post submits: the values (identity keys and changes), the fields it
    asserts, and the fields staff emptied (which a submission cannot clear)."""

    values: dict[str, str]
    changed: list[str]
    cleared: list[str]


def to_submit(
    form: ConsolidatedForm,
    base: dict[str, str],
    entered: dict[str, str],
    fixed: set[str],
    new: bool = False,
) -> Entry:
    """Compare what was entered with `base` (what the page showed). Fields in `fixed` keep
    their value; an emptied field keeps it too and is listed as cleared; for a new resident
    every value given is asserted."""
    out = Entry({}, [], [])
    for f in form.fields:
        before = base.get(f.name, "")
        after = before if f.name in fixed else entered.get(f.name, "").strip()
        if before and not after:
            out.cleared.append(f.name)
            after = before
        if f.name in IDENTITY or after != before:
            out.values[f.name] = after
        if (after != before) or (new and after):
            out.changed.append(f.name)
    return out
