"""报表准入 on the web: the catalogue, a department submitting a draft and downloading its
reports, the 减负办 deciding proposals.

An approval writes the registry: the app reads it again at once (`WebContext.reload`), so the
catalogue shows the new report and the one form asks its new fields.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from hub.ingest.read import ReadError
from hub.registry.loader import Registry
from hub.reports.build import Period
from hub.reports.catalogue import catalogue
from hub.reports.generate import generate_reports
from hub.reports.population import PopulationError, parse_population
from hub.reports.proposal import PERIOD_LABEL, TYPE_LABEL, analyse_draft
from hub.reports.proposals import (
    FieldEdit,
    ProposalError,
    approve,
    file_proposal,
    new_columns,
    proposals,
    reject,
    share_instead,
)
from hub.reports.usage import log_use
from hub.requests import STATUS
from hub.requests import Request as UnitRequest
from hub.web.context import AdminDep, AnyDep, Caller, DeptDep, WebContext, check_csrf, page, who

MAX_DRAFT = 20 * 1024 * 1024  # a template: headers and perhaps a few sample rows
DRAFT_TYPES = (".xlsx", ".xls", ".xlsb", ".ods", ".csv", ".docx")
PERIODS = {"": None, "monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly"}
TYPES = TYPE_LABEL
LABELS = {
    "status": {"held": "已有", "derivable": "可推算", "computed": "自动生成", "new": "新增"},
    "period": PERIOD_LABEL,
    "request": STATUS | {"open": "待审"},
}


def register_gate(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/catalogue", response_class=HTMLResponse)
    def catalogue_page(request: Request, caller: AnyDep) -> Response:
        staff = caller.staff
        # proposals not let in are their department's and the 减负办's business
        entries = [
            e
            for e in catalogue(ctx.settings, _registry(ctx))
            if e.status in ("在用", "已停用")
            or staff.role == "admin"
            or (staff.role == "department" and e.department == staff.department)
        ]
        return page(request, "catalogue.html", caller, entries=entries, labels=LABELS)

    @app.get("/dept", response_class=HTMLResponse)
    def dept_home(request: Request, caller: DeptDep) -> Response:
        return _dept_page(request, ctx, caller)

    @app.post("/dept/proposals", response_class=HTMLResponse)
    async def submit_draft(request: Request, caller: DeptDep) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        file = data.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return _dept_page(request, ctx, caller, "请选择报表草案文件", 400)
        name = Path(file.filename).name
        if Path(name).suffix.lower() not in DRAFT_TYPES:
            error = f"不支持的文件类型（支持 {'、'.join(DRAFT_TYPES)}）"
            return _dept_page(request, ctx, caller, error, 400)
        body = await file.read(MAX_DRAFT + 1)
        if len(body) > MAX_DRAFT:
            return _dept_page(request, ctx, caller, "文件超过 20 MB：草案只需表头和几行示例", 413)
        try:
            req = await run_in_threadpool(_propose, ctx, caller, data, name, body)
        except (ReadError, PopulationError, ValueError) as exc:
            return _dept_page(request, ctx, caller, str(exc), 422)
        return RedirectResponse(f"/proposals/{req.id}", status_code=303)

    @app.get("/dept/reports/{name}.xlsx")
    def download(caller: DeptDep, name: str) -> Response:
        reg = _registry(ctx)
        rep = reg.reports.get(name)
        if rep is None or rep.department != caller.staff.department or rep.status != "在用":
            raise HTTPException(404, "没有这张报表（或不属于本部门）")
        period = Period.of(date.today())
        out = generate_reports(ctx.settings, reg, period, name, by=caller.staff.username)[0]
        log_use(ctx.settings.reports, "downloaded", name, period.key, caller.staff.username)
        return FileResponse(out.xlsx, filename=out.xlsx.name)

    @app.get("/admin", response_class=HTMLResponse)
    def admin_home(request: Request, caller: AdminDep, done: str = "") -> Response:
        found = sorted(proposals(ctx.settings), key=lambda r: (r.status != "open", r.at))
        return page(request, "admin.html", caller, found=found, labels=LABELS, done=done)

    @app.get("/proposals/{proposal_id}", response_class=HTMLResponse)
    def show(request: Request, caller: AnyDep, proposal_id: str) -> Response:
        req = _visible(ctx, caller, proposal_id)
        return _proposal_page(request, ctx, caller, req)

    @app.post("/proposals/{proposal_id}", response_class=HTMLResponse)
    async def decide_page(request: Request, caller: AdminDep, proposal_id: str) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        req = _visible(ctx, caller, proposal_id)
        try:
            await run_in_threadpool(_decide, ctx, caller, req, data)
        except (ProposalError, LookupError) as exc:
            return _proposal_page(request, ctx, caller, req, str(exc), 409)
        return RedirectResponse(f"/admin?done={data.get('action')}", status_code=303)


def _registry(ctx: WebContext) -> Registry:
    return ctx.registry


def _dept_page(
    request: Request, ctx: WebContext, caller: Caller, error: str | None = None, status: int = 200
) -> Response:
    dept = caller.staff.department
    mine = [r for r in proposals(ctx.settings) if r.from_unit == dept]
    entries = [
        e
        for e in catalogue(ctx.settings, _registry(ctx))
        if e.department == dept and e.status == "在用"
    ]
    return page(
        request,
        "dept.html",
        caller,
        status,
        mine=mine,
        entries=entries,
        labels=LABELS,
        error=error,
    )


def _propose(
    ctx: WebContext, caller: Caller, data: FormData, name: str, body: bytes
) -> UnitRequest:
    reg = _registry(ctx)
    text = str(data.get("population", "")).strip()[:500]
    conditions = parse_population(text, reg) if text else None
    period = PERIODS.get(str(data.get("period", "")))
    title = str(data.get("title", "")).strip()[:100] or None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        analysis = analyse_draft(
            ctx.settings, reg, path, caller.staff.department, title, conditions, period
        )
        return file_proposal(ctx.settings, analysis, path, caller.staff.username)


def _visible(ctx: WebContext, caller: Caller, proposal_id: str) -> UnitRequest:
    """The proposal, if the caller may see it: the 减负办 every one, a department its own."""
    found = next((r for r in proposals(ctx.settings) if r.id == proposal_id), None)
    staff = caller.staff
    allowed = staff.role == "admin" or (
        staff.role == "department" and found is not None and found.from_unit == staff.department
    )
    if found is None or not allowed:
        raise HTTPException(404, "没有这条报表准入申请（或不是本部门提交的）")
    return found


def _proposal_page(
    request: Request,
    ctx: WebContext,
    caller: Caller,
    req: UnitRequest,
    error: str | None = None,
    status: int = 200,
) -> Response:
    reg = _registry(ctx)
    return page(
        request,
        "proposal.html",
        caller,
        status,
        req=req,
        a=req.payload["analysis"],
        new=new_columns(req),
        labels=LABELS,
        types=TYPES,
        codelists={n: cl.label for n, cl in sorted(reg.codelists.items())},
        error=error,
    )


def _decide(ctx: WebContext, caller: Caller, req: UnitRequest, data: FormData) -> Any:
    action = str(data.get("action", ""))
    why = str(data.get("why", "")).strip()[:500]
    by = f"减负办：{who(caller)}"
    reg = _registry(ctx)
    if action == "approve":
        edits = {}
        for i, col in enumerate(new_columns(req)):
            edit = FieldEdit(
                *(
                    str(data.get(f"{k}_{i}", "")).strip()[:100] or None
                    for k in ("name", "label", "type", "codelist")
                )
            )
            edits[col["header"]] = edit
        done = approve(ctx.settings, reg, req, by, why, edits)
        ctx.reload()  # the catalogue and the one form show the new report at once
        return done
    if action == "reject":
        return reject(ctx.settings, req, by, why)
    if action == "share":
        shared = share_instead(ctx.settings, reg, req, by, why)
        ctx.reload()
        return shared
    raise ProposalError("请选择批准、驳回或改为共享")
