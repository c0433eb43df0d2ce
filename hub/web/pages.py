"""The staff pages: search, a resident's form, a new resident, and inline checks."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hub.form.submissions import Submission, append
from hub.form.validate import FieldIssue, blocking, check_entry
from hub.form.values import choices, form_values, locked, to_submit
from hub.web.app import Caller, StaffDep, WebContext, check_csrf, page
from hub.web.residents import SEARCH_LIMIT


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

    @app.post("/check")
    async def check(request: Request, caller: StaffDep) -> Response:
        """Inline validation: the pipeline's rules on the values as typed so far."""
        check_csrf(request, request.headers.get("x-csrf-token"))
        values = {k: str(v) for k, v in (await request.json()).items() if v}
        issues = check_entry(ctx.registry, values)
        return JSONResponse({"issues": [i.__dict__ for i in issues]})


def _original(ctx: WebContext, caller: Caller, person_id: str) -> dict[str, str]:
    person = ctx.directory.person(caller.staff.community, person_id)
    if person is None:  # not found and not theirs look the same: nothing to learn by probing
        raise HTTPException(404, "没有找到该居民（或不属于本社区）")
    return form_values(ctx.form, person)


async def _submit(
    request: Request,
    ctx: WebContext,
    caller: Caller,
    person_id: str | None,
    original: dict[str, str],
) -> Response:
    data = await request.form()
    check_csrf(request, str(data.get("csrf", "")))
    entered = {f.name: str(data.get(f.name, "")) for f in ctx.form.fields}
    if person_id is None:
        entered["community_code"] = caller.staff.community  # staff add to their own community
    values = to_submit(ctx.form, original, entered)
    issues = check_entry(ctx.registry, {k: v for k, v in values.items() if v})
    if blocking(issues):
        shown = original | {k: v for k, v in entered.items() if k in values}
        return _form_page(request, ctx, caller, person_id, original, shown, issues, status=422)
    sub = Submission(caller.staff.username, caller.staff.community, values, person_id)
    append(ctx.settings.submissions, sub)
    target = f"/residents/{person_id}" if person_id else "/residents/new"
    return RedirectResponse(f"{target}?saved={sub.id}", status_code=303)


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
) -> Response:
    origins = ctx.directory.origins(person_id) if person_id else {}
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
                    "locked": locked(f, original) or f.name == "community_code",
                    "origin": origins[f.name].text if f.name in origins else "",
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
        errors=len(blocking(issues)),
    )
