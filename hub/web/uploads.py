"""The Excel path on the web: download the prefilled template, upload it filled, and decide
the conflicts an import found."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile  # what request.form() gives (not fastapi's)

from hub.form.conflicts import decide, open_conflicts
from hub.form.excel_import import ImportResult, import_template
from hub.form.pending import current_people, held_by_person
from hub.form.submissions import Submission, append_new
from hub.form.template import template_name, write_template
from hub.form.validate import blocking, check_entry
from hub.form.values import IDENTITY, form_values
from hub.reports.flowback import TEMPLATE
from hub.web.context import Caller, StaffDep, WebContext, check_csrf, log_read, page

MAX_UPLOAD = 50 * 1024 * 1024


def register_uploads(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/upload", response_class=HTMLResponse)
    def upload_page(request: Request, caller: StaffDep) -> Response:
        return page(request, "upload.html", caller, result=None, error=None)

    @app.get("/template.xlsx")
    def download(caller: StaffDep) -> Response:
        community = caller.staff.community
        people = current_people(ctx.settings.submissions, ctx.directory, community)
        ids = [p["person_id"] for p in people]
        log_read(ctx, caller, TEMPLATE, ids, [f.name for f in ctx.form.fields])
        name = template_name(community, date.today())
        folder = Path(tempfile.mkdtemp(prefix="hub-template-"))
        path = folder / name
        held = held_by_person(ctx.directory, ctx.form, community)
        secret, release = ctx.settings.secret(), ctx.directory.release()
        write_template(path, ctx.registry, ctx.form, community, people, secret, release, held)
        # the temp folder goes once the file is sent
        return FileResponse(path, filename=name, background=BackgroundTask(shutil.rmtree, folder))

    @app.post("/upload", response_class=HTMLResponse)
    async def upload(request: Request, caller: StaffDep) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        file = data.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return page(request, "upload.html", caller, 400, result=None, error="请选择文件")
        if Path(file.filename).suffix.lower() != ".xlsx":
            error = "只接收本系统下载的 Excel 模板（.xlsx）"
            return page(request, "upload.html", caller, 400, result=None, error=error)
        body = await file.read(MAX_UPLOAD + 1)
        if len(body) > MAX_UPLOAD:
            error = "文件超过 50 MB"
            return page(request, "upload.html", caller, 413, result=None, error=error)
        name = Path(file.filename).name  # any name: the content says whose template it is
        result = await run_in_threadpool(_import, ctx, caller, body, name)
        status = 200 if result.rejected is None else 422
        return page(request, "upload.html", caller, status, result=result, error=None)

    @app.get("/conflicts", response_class=HTMLResponse)
    def conflicts_page(request: Request, caller: StaffDep, done: str = "") -> Response:
        items = open_conflicts(ctx.settings.form_conflicts, caller.staff.community)
        return page(request, "conflicts.html", caller, items=items, done=done)

    @app.post("/conflicts/{conflict_id}")
    async def resolve(request: Request, caller: StaffDep, conflict_id: str) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        action = str(data.get("action", ""))
        return await run_in_threadpool(_resolve, ctx, caller, conflict_id, action)


def _resolve(ctx: WebContext, caller: Caller, conflict_id: str, action: str) -> Response:
    folder, community = ctx.settings.form_conflicts, caller.staff.community
    try:
        item = next(c for c in open_conflicts(folder, community) if c.id == conflict_id)
    except StopIteration:
        raise HTTPException(404, "没有这条待处理冲突（可能已处理，或不属于本社区）") from None
    if action == "mine":
        _file_worker_value(ctx, caller, item.person_id, item.field, item.worker_code)
    try:
        decide(folder, community, conflict_id, action, caller.staff.username)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse(f"/conflicts?done={action}", status_code=303)


def _import(ctx: WebContext, caller: Caller, body: bytes, name: str) -> ImportResult:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.xlsx"
        path.write_bytes(body)
        return import_template(
            ctx.settings,
            ctx.registry,
            ctx.form,
            path,
            name,
            caller.staff.username,
            community=caller.staff.community,
        )


def _file_worker_value(
    ctx: WebContext, caller: Caller, person_id: str, field: str, value: str
) -> None:
    """The worker keeps the template's value: a submission of that one field."""
    person = ctx.directory.person(caller.staff.community, person_id)
    if person is None:
        raise HTTPException(404, "该居民已不在本社区，不能采用模板中的值")
    identity = {k: v for k, v in form_values(ctx.form, person).items() if k in IDENTITY}
    values = identity | {field: value}
    errors = blocking(check_entry(ctx.registry, {k: v for k, v in values.items() if v}))
    if errors:
        raise HTTPException(422, "模板中的值不能采用：" + "；".join(i.message for i in errors))
    sub = Submission(caller.staff.username, caller.staff.community, values, person_id)
    sub.changed = [field]
    append_new(ctx.settings.submissions, [sub], since=date.today())
