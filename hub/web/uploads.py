"""The Excel path on the web: download the prefilled template, upload it filled."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path

from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask

from hub.form.excel_import import check_file, hand_over
from hub.form.template import template_name, write_template
from hub.web.app import StaffDep, WebContext, check_csrf, page

MAX_UPLOAD = 50 * 1024 * 1024


def register_uploads(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/upload", response_class=HTMLResponse)
    def upload_page(request: Request, caller: StaffDep) -> Response:
        return page(request, "upload.html", caller, checked=None, error=None)

    @app.get("/template.xlsx")
    def download(caller: StaffDep) -> Response:
        community = caller.staff.community
        people = ctx.directory.community_people(community)
        name = template_name(community, date.today())
        folder = Path(tempfile.mkdtemp(prefix="hub-template-"))
        path = folder / name
        write_template(path, ctx.registry, ctx.form, community, people)
        # the temp folder goes once the file is sent
        return FileResponse(path, filename=name, background=BackgroundTask(shutil.rmtree, folder))

    @app.post("/upload", response_class=HTMLResponse)
    async def upload(request: Request, caller: StaffDep) -> Response:
        data = await request.form()
        check_csrf(request, str(data.get("csrf", "")))
        file = data.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return page(request, "upload.html", caller, 400, checked=None, error="请选择文件")
        # staff upload only into their own community's name, whatever the file was called
        suffix = Path(file.filename).suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            error = "只接收 Excel（.xlsx）或 CSV 文件"
            return page(request, "upload.html", caller, 400, checked=None, error=error)
        body = await file.read(MAX_UPLOAD + 1)
        if len(body) > MAX_UPLOAD:
            error = "文件超过 50 MB"
            return page(request, "upload.html", caller, 413, checked=None, error=error)
        # a name of its own: two uploads of one day never overwrite each other in incoming
        stamp = datetime.now().strftime("%H%M%S")
        name = f"{Path(template_name(caller.staff.community, date.today())).stem}_{stamp}"
        name += f"_{caller.staff.username}{suffix}"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(body)
            checked = check_file(ctx.registry, path, name)
            if checked.rejected is None:
                hand_over(ctx.registry, path, ctx.settings.incoming, name)
        status = 200 if checked.rejected is None else 422
        return page(request, "upload.html", caller, status, checked=checked, error=None)
