"""Requests on the web: a worker files a 迁入申请 for a resident registered in another
community; the other community's staff accept or decline it. Neither side learns more about
the other's residents than the request itself says."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from hub.form.moves import NotThere, file_move
from hub.requests import KINDS, STATUS, decide, file_request, requests
from hub.requests import Request as UnitRequest
from hub.web.context import Caller, StaffDep, WebContext, check_csrf, page


def register_requests(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/requests", response_class=HTMLResponse)
    def listing(request: Request, caller: StaffDep, done: str = "") -> Response:
        mine = caller.staff.community
        every = requests(ctx.settings.requests)
        incoming = [r for r in every if r.to_unit == mine]
        outgoing = [r for r in every if r.from_unit == mine]
        names = {c.code: c.name for c in ctx.registry.orgs.communities}
        return page(
            request,
            "requests.html",
            caller,
            incoming=incoming,
            outgoing=outgoing,
            names=names,
            kinds=KINDS,
            labels=STATUS,
            done=done,
        )

    @app.post("/requests/move-in")
    async def move_in(request: Request, caller: StaffDep) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        return await run_in_threadpool(_move_in, ctx, caller, data)

    @app.post("/requests/{request_id}")
    async def answer(request: Request, caller: StaffDep, request_id: str) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        return await run_in_threadpool(_answer, ctx, caller, data, request_id)


def _move_in(ctx: WebContext, caller: Caller, data: FormData) -> Response:
    citizen_id = str(data.get("citizen_id", "")).strip()
    found = ctx.directory.locate(citizen_id) if citizen_id else None
    if found is None or found[1] in (None, caller.staff.community):
        raise HTTPException(400, "无法提交迁入申请：请在新增居民页填写该居民的身份证号码后再申请")
    req = UnitRequest(
        kind="move_in",
        from_unit=caller.staff.community,
        to_unit=str(found[1]),
        subject=found[0],
        payload={
            "name": str(data.get("name", ""))[:50],
            "reason": str(data.get("reason", ""))[:200],
        },
        by=caller.staff.username,
    )
    file_request(ctx.settings.requests, req)
    return RedirectResponse("/requests?done=filed", status_code=303)


def _answer(ctx: WebContext, caller: Caller, data: FormData, request_id: str) -> Response:
    status = {"accept": "accepted", "decline": "declined"}.get(str(data.get("action", "")))
    if status is None:
        raise HTTPException(400, "请选择同意或拒绝")
    mine = caller.staff.community
    found = [r for r in requests(ctx.settings.requests) if r.id == request_id]
    if not found or found[0].to_unit != mine or found[0].status != "open":
        raise HTTPException(404, "没有这条待处理的申请（或不是发给本社区的）")
    by = caller.staff.username
    try:
        if status == "accepted":  # the move first: a failed move leaves the request open
            file_move(ctx.settings.submissions, ctx.form, ctx.directory, found[0], by)
        decide(
            ctx.settings.requests,
            request_id,
            status,
            by,
            str(data.get("why", ""))[:200],
            unit=mine,
        )
    except (NotThere, LookupError) as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/requests?done={status}", status_code=303)
