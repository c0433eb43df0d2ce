"""The staff web app: log in, find a resident of one's community, fill the one form.

Server-rendered pages in Chinese (FastAPI + Jinja2). Every page after the login knows the
staff member from a signed cookie and only ever looks up residents of their community.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from hub.publish.directory import Directory
from hub.registry.loader import load_registry
from hub.settings import Settings
from hub.web.api import DESCRIPTION, TITLE, build_api
from hub.web.context import WebContext
from hub.web.correction_pages import register_corrections
from hub.web.errors import install_error_handlers
from hub.web.gate_pages import register_gate
from hub.web.login import register_login
from hub.web.pages import register_pages
from hub.web.request_pages import register_requests
from hub.web.session import Signer
from hub.web.throttle import Throttle
from hub.web.uploads import register_uploads

HERE = Path(__file__).parent


def create_app(settings: Settings) -> FastAPI:
    registry = load_registry(settings.schemas)
    ctx = WebContext(
        settings,
        registry,
        Directory(settings.published),
        Signer(settings.secret(), settings.data / "sessions_revoked.jsonl"),
        Jinja2Templates(directory=HERE / "templates"),
        Throttle(),
    )
    app = FastAPI(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        docs_url=None,  # the interactive docs pull scripts from a CDN; the JSON is enough
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    install_error_handlers(app, ctx)

    register_login(app, ctx)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:  # on the loop: never queued behind busy threads
        return {"status": "ok"}

    register_pages(app, ctx)
    register_uploads(app, ctx)
    register_requests(app, ctx)
    register_gate(app, ctx)
    register_corrections(app, ctx)
    for route in app.routes:  # the OpenAPI description is the departments' API only
        if isinstance(route, APIRoute):
            route.include_in_schema = False
    app.include_router(build_api())
    return app
