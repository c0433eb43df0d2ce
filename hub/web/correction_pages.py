"""纠错回流 on the web: a worker asks the department that owns a value to correct it; the
department works through its queue (its own list of fixes) and accepts or declines each one."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.form.consolidated import FormField
from hub.form.corrections import CorrectionError, answer, correctable, corrections, file_correction
from hub.form.values import as_text, choices
from hub.requests import STATUS
from hub.web.context import Caller, DeptDep, StaffDep, WebContext, check_csrf, log_read, page, who


def register_corrections(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/residents/{person_id}/correct", response_class=HTMLResponse)
    def correct_page(
        request: Request, caller: StaffDep, person_id: str, field: str = ""
    ) -> Response:
        person, f = _target(ctx, caller, person_id, field)
        return _page(request, ctx, caller, person, f)

    @app.post("/residents/{person_id}/correct", response_class=HTMLResponse)
    async def correct(request: Request, caller: StaffDep, person_id: str) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        person, f = _target(ctx, caller, person_id, str(data.get("field", "")))
        new, reason = str(data.get("new", ""))[:200], str(data.get("reason", ""))[:300]
        origins = ctx.directory.origins(person_id)
        origin = origins.get(f.name)
        try:
            await run_in_threadpool(
                file_correction,
                ctx.settings.requests,
                ctx.registry,
                ctx.form,
                person,
                f.name,
                new,
                reason,
                caller.staff.username,
                caller.staff.community,
                origin.source if origin else None,
            )
        except CorrectionError as exc:
            return _page(request, ctx, caller, person, f, str(exc), new, reason, 422)
        return RedirectResponse(f"/residents/{person_id}?corrected={f.name}", status_code=303)

    @app.get("/dept/corrections", response_class=HTMLResponse)
    def queue(request: Request, caller: DeptDep, done: str = "") -> Response:
        mine = [
            r for r in corrections(ctx.settings.requests) if r.to_unit == caller.staff.department
        ]
        mine.sort(key=lambda r: (r.status != "open", r.at))
        names = {c.code: c.name for c in ctx.registry.orgs.communities}
        return page(
            request, "corrections.html", caller, items=mine, names=names, labels=STATUS, done=done
        )

    @app.post("/dept/corrections/{request_id}")
    async def decide(request: Request, caller: DeptDep, request_id: str) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        action = str(data.get("action", ""))
        if action not in ("accept", "decline"):
            raise HTTPException(400, "请选择确认更正或不予更正")
        by = f"{caller.staff.department}：{who(caller)}"
        try:
            await run_in_threadpool(
                answer,
                ctx.settings.requests,
                request_id,
                action == "accept",
                by,
                str(data.get("why", "")).strip()[:300],
                caller.staff.department,
            )
        except CorrectionError as exc:
            raise HTTPException(422, str(exc)) from None
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        return RedirectResponse(f"/dept/corrections?done={action}", status_code=303)


def _target(
    ctx: WebContext, caller: Caller, person_id: str, field: str
) -> tuple[dict[str, Any], FormField]:
    person = ctx.directory.person(caller.staff.community, person_id)
    if person is None:
        raise HTTPException(404, "没有找到该居民（或不属于本社区）")
    f = next((x for x in ctx.form.fields if x.name == field), None)
    if f is None or not correctable(f):
        raise HTTPException(404, "这一项不由部门登记，直接在表单中修改即可")
    log_read(ctx, caller, f"申请更正 {person_id} 的 {f.label}", [person_id], [f.name])
    return person, f


def _page(
    request: Request,
    ctx: WebContext,
    caller: Caller,
    person: dict[str, Any],
    f: FormField,
    error: str | None = None,
    new: str = "",
    reason: str = "",
    status: int = 200,
) -> Response:
    current = as_text(person.get(f.name))
    options = choices(ctx.registry, f, caller.staff.community)
    origin = ctx.directory.origins(str(person["person_id"])).get(f.name)
    return page(
        request,
        "correct.html",
        caller,
        status,
        person=person,
        f=f,
        current=dict(options).get(current, current),
        options=options,
        origin=origin.text if origin else "",
        error=error,
        new=new,
        reason=reason,
    )
