"""The staff pages: search, a resident's form, a new resident, a submission, inline checks."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hub.form.pending import overlay, pending
from hub.form.submissions import Submission, append_new, find
from hub.form.validate import FieldIssue, blocking, check_entry
from hub.form.values import choices, form_values, locked, to_submit
from hub.publish.directory import SEARCH_LIMIT
from hub.web.context import Caller, StaffDep, WebContext, check_csrf, page

_KEY = re.compile(r"^[0-9a-f]{32}$")


def register_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/", response_class=HTMLResponse)
    def search(request: Request, caller: StaffDep, q: str = "") -> Response:
        found = ctx.directory.search(caller.staff.community, q)
        return page(request, "search.html", caller, q=q, found=found, limit=SEARCH_LIMIT)

    @app.get("/residents/new", response_class=HTMLResponse)
    def new_resident(request: Request, caller: StaffDep) -> Response:
        original = {"community_code": caller.staff.community}
        return _form_page(request, ctx, caller, None, original, dict(original), [])

    @app.post("/residents/new")
    async def add_resident(request: Request, caller: StaffDep) -> Response:
        original = {"community_code": caller.staff.community}
        return await _submit(request, ctx, caller, None, original)

    @app.get("/residents/{person_id}", response_class=HTMLResponse)
    def resident(request: Request, caller: StaffDep, person_id: str, saved: str = "") -> Response:
        original = _original(ctx, caller, person_id)
        return _form_page(request, ctx, caller, person_id, original, original, [], saved)

    @app.post("/residents/{person_id}")
    async def update_resident(request: Request, caller: StaffDep, person_id: str) -> Response:
        return await _submit(request, ctx, caller, person_id, _original(ctx, caller, person_id))

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse)
    def submission(request: Request, caller: StaffDep, submission_id: str) -> Response:
        sub = find(ctx.settings.submissions, submission_id) if _KEY.match(submission_id) else None
        if sub is None or sub.community != caller.staff.community:
            raise HTTPException(404, "没有找到这次提交（或不属于本社区）")
        outcome = ctx.directory.outcomes([sub.id]).get(sub.id)
        shown = [
            (f.label, _shown(ctx, caller, f.name, sub.values[f.name]))
            for f in ctx.form.fields
            if sub.values.get(f.name) and (sub.changed is None or f.name in sub.changed)
        ]
        return page(request, "submission.html", caller, sub=sub, outcome=outcome, shown=shown)

    @app.post("/check")
    async def check(request: Request, caller: StaffDep) -> Response:
        """Inline validation: the pipeline's rules on the values as typed so far."""
        check_csrf(request, request.headers.get("x-csrf-token"))
        values = {k: str(v) for k, v in (await request.json()).items() if v}
        issues = check_entry(ctx.registry, values)
        return JSONResponse({"issues": [i.__dict__ for i in issues]})


def _original(ctx: WebContext, caller: Caller, person_id: str) -> dict[str, str]:
    """The resident's values as staff should see them: the golden record, with what they
    submitted since the last run over it (待归集)."""
    person = ctx.directory.person(caller.staff.community, person_id)
    if person is None:  # not found and not theirs look the same: nothing to learn by probing
        raise HTTPException(404, "没有找到该居民（或不属于本社区）")
    return overlay(form_values(ctx.form, person), _pending(ctx, caller, person_id))


def _pending(ctx: WebContext, caller: Caller, person_id: str) -> list[Submission]:
    waiting = pending(ctx.settings.submissions, ctx.directory, caller.staff.community)
    return waiting.get(person_id, [])


async def _submit(
    request: Request,
    ctx: WebContext,
    caller: Caller,
    person_id: str | None,
    original: dict[str, str],
) -> Response:
    data = await request.form()
    check_csrf(request, str(data.get("csrf", "")))
    key = str(data.get("submission_id", ""))
    key = key if _KEY.match(key) else uuid.uuid4().hex  # the page's key: a 2nd click files nothing
    if find(ctx.settings.submissions, key, since=date.today() - timedelta(days=1)):
        return _saved(person_id, key)
    entered = {f.name: str(data.get(f.name, "")) for f in ctx.form.fields}
    values, changed = to_submit(ctx.form, original, entered, new=person_id is None)
    shown = original | {k: v for k, v in entered.items() if k in values}
    if not changed:
        note = "没有修改，无需提交。"
        return _form_page(request, ctx, caller, person_id, original, shown, [], note=note)
    issues = check_entry(ctx.registry, {k: v for k, v in values.items() if v})
    if blocking(issues):
        return _form_page(request, ctx, caller, person_id, original, shown, issues, status=422)
    sub = Submission(caller.staff.username, caller.staff.community, values, person_id, key)
    sub.changed = changed
    append_new(ctx.settings.submissions, [sub], since=date.today() - timedelta(days=1))
    return _saved(person_id, key)


def _saved(person_id: str | None, key: str) -> Response:
    target = f"/residents/{person_id}?saved={key}" if person_id else f"/submissions/{key}"
    return RedirectResponse(target, status_code=303)


def _shown(ctx: WebContext, caller: Caller, name: str, value: str) -> str:
    """A value as staff read it: the label of a code."""
    f = next(f for f in ctx.form.fields if f.name == name)
    return dict(choices(ctx.registry, f, caller.staff.community)).get(value, value)


def _form_page(
    request: Request,
    ctx: WebContext,
    caller: Caller,
    person_id: str | None,
    original: dict[str, str],
    shown: dict[str, str],
    issues: list[FieldIssue],
    saved: str = "",
    status: int = 200,
    note: str = "",
) -> Response:
    origins = ctx.directory.origins(person_id) if person_id else {}
    queued = _pending(ctx, caller, person_id) if person_id else []
    waiting = {k for s in queued for k in (s.changed or [])}
    by_field: dict[str, list[FieldIssue]] = {}
    for i in issues:
        by_field.setdefault(i.field, []).append(i)
    groups: list[tuple[str, list[dict[str, Any]]]] = [
        (
            group,
            [
                {
                    "f": f,
                    "value": shown.get(f.name, ""),
                    "choices": choices(ctx.registry, f, caller.staff.community),
                    "locked": locked(f, original),
                    "origin": origins[f.name].text if f.name in origins else "",
                    "pending": f.name in waiting,
                    "issues": by_field.get(f.name, []),
                }
                for f in fields
            ],
        )
        for group, fields in ctx.form.groups.items()
    ]
    title = shown.get("name") or "新增居民"
    return page(
        request,
        "resident.html",
        caller,
        status,
        person_id=person_id,
        title=title,
        groups=groups,
        saved=saved,
        note=note,
        pending=len(queued),
        key=uuid.uuid4().hex,
        errors=len(blocking(issues)),
    )
