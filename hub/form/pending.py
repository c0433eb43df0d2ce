"""Submissions no published run has taken in yet (待归集), and the values staff should see:
the golden record with those submissions over it.

The web form, the template (its prefill) and the template import (what the hub holds now)
all read a resident this way, so a web edit not yet run is neither lost nor overwritten.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.form.consolidated import ConsolidatedForm
from hub.form.submissions import Submission, read_all
from hub.form.values import held_fields
from hub.publish.directory import Directory


def pending(folder: Path, directory: Directory, community: str) -> dict[str, list[Submission]]:
    """Per person of `community`, their submissions not in the published release, oldest first."""
    since = directory.published_on() - timedelta(days=1)  # day files are named by local date
    subs = [
        s
        for s in read_all(folder, since)
        if s.community == community and s.person_id is not None and s.changed
    ]
    done = directory.outcomes([s.id for s in subs])
    out: dict[str, list[Submission]] = {}
    for s in subs:
        if s.id not in done:
            out.setdefault(s.person_id or "", []).append(s)
    return out


def asserted(subs: list[Submission]) -> dict[str, str]:
    """What these submissions assert, field by field, the newest winning."""
    out: dict[str, str] = {}
    for s in subs:
        out |= {k: v for k, v in s.values.items() if s.changed and k in s.changed}
    return out


def overlay(values: dict[str, str], subs: list[Submission]) -> dict[str, str]:
    """`values` (form text per field) with what the submissions asserted over them."""
    return values | asserted(subs)


def held_by_person(
    directory: Directory, form: ConsolidatedForm, community: str
) -> dict[str, set[str]]:
    """Per resident of `community`, the fields whose value their authority holds."""
    return {
        pid: held_fields(form, sources)
        for pid, sources in directory.community_sources(community).items()
    }


def current_people(folder: Path, directory: Directory, community: str) -> list[dict[str, Any]]:
    """Every resident of `community` as published, with their pending submissions over it
    (a pending value is text, as submitted)."""
    waiting = pending(folder, directory, community)
    return [
        p | asserted(waiting.get(p["person_id"], [])) for p in directory.community_people(community)
    ]
