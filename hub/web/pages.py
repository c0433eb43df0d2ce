"""The staff pages: search, a resident's form, a new resident, a submission, inline checks."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from hub.form.corrections import correctable, of_person
from hub.form.pending import overlay, pending
from hub.form.scope import registered_elsewhere, scope_issues
from hub.form.submissions import Submission, append_new, find
from hub.form.validate import FieldIssue, blocking, check_entry
from hub.form.values import Entry, choices, form_values, held_fields, locked, to_submit
from hub.publish.directory import SEARCH_LIMIT
from hub.reports.flowback import RESIDENT_PAGE
from hub.requests import STATUS
from hub.web.context import Caller, StaffDep, WebContext, check_csrf, log_read, page

_KEY = re.compile(r"^[0-9a-f]{32}$")
MAX_FIELDS, MAX_VALUE = 200, 2000  # an inline check is one form's worth of short values
MAX_CHECK_BYTES = 256 * 1024


def register_pages(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/", response_class=HTMLResponse)
    def search(request: Request, caller: StaffDep, q: str = "") -> Response:
        found = ctx.directory.search(caller.staff.community, q)
        shown = ["name", "citizen_id", "birth_date", "current_address"]
        log_read(ctx, caller, f"查找「{q}」", [p["person_id"] for p in found], shown)
        return page(request, "search.html", caller, q=q, found=found, limit=SEARCH_LIMIT)

    @app.get("/residents/new", response_class=HTMLResponse)
    def new_resident(request: Request, caller: StaffDep) -> Response:
        who = _newcomer(caller)
        return _form_page(request, ctx, caller, None, who, who.values, [])

    @app.post("/residents/new")
    async def add_resident(request: Request, caller: StaffDep) -> Response:
        data = await request.form()
        return await run_in_threadpool(
            _submit, request, data, ctx, caller, None, lambda: _newcomer(caller)
        )

    @app.get("/residents/{person_id}", response_class=HTMLResponse)
    def resident(
        request: Request,
        caller: StaffDep,
        person_id: str,
        saved: str = "",
        cleared: str = "",
        corrected: str = "",
    ) -> Response:
        who = _resident(ctx, caller, person_id)
        note = _cleared_note(ctx, cleared.split(",")) if saved else ""
        if corrected:
            note = "已提交更正申请：登记部门确认后，下一次归集起生效。"
        return _form_page(request, ctx, caller, person_id, who, who.values, [], saved, note=note)

    @app.post("/residents/{person_id}")
    async def update_resident(request: Request, caller: StaffDep, person_id: str) -> Response:
        data = await request.form()  # read here; the work below runs off the event loop
        return await run_in_threadpool(
            _submit,
            request,
            data,
            ctx,
            caller,
            person_id,
            lambda: _resident(ctx, caller, person_id),
        )

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
        raw = await request.body()
        if len(raw) > MAX_CHECK_BYTES:
            raise HTTPException(413, "请求体过大：行内校验一次只检查一张表单的内容")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            raise HTTPException(400, "请求体应为 JSON 对象：{字段名: 值}")
        values = {str(k): str(v)[:MAX_VALUE] for k, v in list(body.items())[:MAX_FIELDS] if v}
        issues = await run_in_threadpool(check_entry, ctx.registry, values)
        return JSONResponse({"issues": [i.__dict__ for i in issues]})


@dataclass
class _Resident:
    """A resident as a page shows them."""

    values: dict[str, str]  # the golden record with 待归集 submissions over it: what staff see
    fixed: set[str]  # fields staff cannot change (decided on the published record)
    pending: list[Submission]


def _resident(ctx: WebContext, caller: Caller, person_id: str) -> _Resident:
    person = ctx.directory.person(caller.staff.community, person_id)
    if person is None:  # not found and not theirs look the same: nothing to learn by probing
        raise HTTPException(404, "没有找到该居民（或不属于本社区）")
    golden = form_values(ctx.form, person)
    log_read(
        ctx, caller, f"{RESIDENT_PAGE} {person_id}", [person_id], [f.name for f in ctx.form.fields]
    )
    origins = ctx.directory.origins(person_id)
    held = held_fields(ctx.form, {k: o.source for k, o in origins.items()})
    fixed = {f.name for f in ctx.form.fields if locked(f, golden, held)}
    waiting = pending(ctx.settings.submissions, ctx.directory, caller.staff.community)
    queued = waiting.get(person_id, [])
    return _Resident(overlay(golden, queued), fixed, queued)


def _newcomer(caller: Caller) -> _Resident:
    return _Resident({"community_code": caller.staff.community}, {"community_code"}, [])


def _submit(
    request: Request,
    data: FormData,
    ctx: WebContext,
    caller: Caller,
    person_id: str | None,
    who_of: Callable[[], _Resident],
) -> Response:
    """Save an entry (blocking: runs in the thread pool, never on the event loop)."""
    check_csrf(request, str(data.get("csrf", "")))
    key = str(data.get("submission_id", ""))
    key = key if _KEY.match(key) else uuid.uuid4().hex  # the page's key: a 2nd click files nothing
    who = who_of()  # first: a resident of another community is not found, whatever the key
    entered = {f.name: str(data.get(f.name, "")) for f in ctx.form.fields}
    entry = to_submit(ctx.form, who.values, entered, who.fixed, new=person_id is None)
    since = date.today() - timedelta(days=1)
    earlier = find(ctx.settings.submissions, key, since=since)
    if earlier is not None:
        if _reposted(earlier, caller, person_id, who, entry):
            return _saved(person_id, key)  # a second click: filed once
        key = uuid.uuid4().hex  # the page's key reused for another entry (Back, then edit)
    shown = who.values | {k: v for k, v in entered.items() if k in entry.values}
    note = _cleared_note(ctx, entry.cleared)
    if not entry.changed:
        note = "没有修改，无需提交。" + note
        return _form_page(request, ctx, caller, person_id, who, shown, [], note=note)
    issues = check_entry(ctx.registry, {k: v for k, v in entry.values.items() if v})
    new = person_id is None
    issues += scope_issues(ctx.registry, ctx.directory, caller.staff.community, entry.values, new)
    if blocking(issues):
        move_in = registered_elsewhere(issues)
        return _form_page(
            request, ctx, caller, person_id, who, shown, issues, "", 422, note, move_in
        )
    sub = Submission(caller.staff.username, caller.staff.community, entry.values, person_id, key)
    sub.changed = entry.changed
    if not append_new(ctx.settings.submissions, [sub], since=since):
        stored = find(ctx.settings.submissions, key, since=since)  # filed meanwhile by a twin
        if stored is None or not _same(stored, caller, person_id, entry.values):
            sub.id = key = uuid.uuid4().hex
            append_new(ctx.settings.submissions, [sub], since=since)
    return _saved(person_id, key, entry.cleared)


def _same(sub: Submission, caller: Caller, person_id: str | None, values: dict[str, str]) -> bool:
    """Is `sub` this very entry, computed from the same page (two posts at once)?"""
    return (sub.community, sub.person_id, sub.values) == (
        caller.staff.community,
        person_id,
        values,
    )


def _reposted(
    sub: Submission, caller: Caller, person_id: str | None, who: _Resident, entry: Entry
) -> bool:
    """Is this post the stored `sub` again? A resident's page now shows `sub` as pending,
    so the same post changes nothing more and agrees with every value `sub` holds."""
    if (sub.community, sub.person_id) != (caller.staff.community, person_id):
        return False
    if person_id is None:
        return sub.values == entry.values
    return not entry.changed and all(who.values.get(k, "") == v for k, v in sub.values.items())


def _cleared_note(ctx: WebContext, cleared: list[str]) -> str:
    labels = "、".join(f.label for f in ctx.form.fields if f.name in cleared)
    if not labels:
        return ""
    return f"清空不会删除已登记的信息：「{labels}」保持原值（如需删除，请联系登记部门更正）。"


def _saved(person_id: str | None, key: str, cleared: list[str] | None = None) -> Response:
    if person_id is None:
        return RedirectResponse(f"/submissions/{key}", status_code=303)
    also = f"&cleared={','.join(cleared)}" if cleared else ""
    return RedirectResponse(f"/residents/{person_id}?saved={key}{also}", status_code=303)


def _shown(ctx: WebContext, caller: Caller, name: str, value: str) -> str:
    """A value as staff read it: the label of a code."""
    f = next(f for f in ctx.form.fields if f.name == name)
    return dict(choices(ctx.registry, f, caller.staff.community)).get(value, value)


def _form_page(
    request: Request,
    ctx: WebContext,
    caller: Caller,
    person_id: str | None,
    who: _Resident,
    shown: dict[str, str],
    issues: list[FieldIssue],
    saved: str = "",
    status: int = 200,
    note: str = "",
    move_in: bool = False,
) -> Response:
    origins = ctx.directory.origins(person_id) if person_id else {}
    waiting = {k for s in who.pending for k in (s.changed or [])}
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
                    "locked": f.name in who.fixed,
                    "origin": origins[f.name].text if f.name in origins else "",
                    "pending": f.name in waiting,
                    "issues": by_field.get(f.name, []),
                    "correctable": bool(person_id) and correctable(f),
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
        pending=len(who.pending),
        key=uuid.uuid4().hex,
        errors=len(blocking(issues)),
        move_in=move_in,
        shown=shown,
        corrections=of_person(ctx.settings.requests, person_id) if person_id else [],
        correction_labels=STATUS
        | {"open": "待确认", "accepted": "已确认更正", "declined": "不予更正"},
    )
