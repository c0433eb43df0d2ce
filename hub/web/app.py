"""The staff web app: log in, find a resident of one's community, fill the one form.

Server-rendered pages in Chinese (FastAPI + Jinja2). Every page after the login knows the
staff member from a signed cookie and only ever looks up residents of their community.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.form.consolidated import ConsolidatedForm, derive_form
from hub.registry.loader import Registry, load_registry
from hub.settings import Settings
from hub.web.accounts import Staff, authenticate, load_staff
from hub.web.api import DESCRIPTION, TITLE, build_api
from hub.web.residents import Directory
from hub.web.session import Signer

HERE = Path(__file__).parent
COOKIE = "hub_session"


@dataclass
class WebContext:
    settings: Settings
    registry: Registry
    form: ConsolidatedForm
    directory: Directory
    signer: Signer
    templates: Jinja2Templates

    def community_name(self, code: str) -> str:
        return next((c.name for c in self.registry.orgs.communities if c.code == code), code)


class LoginRequired(Exception):
    pass


def create_app(settings: Settings) -> FastAPI:
    registry = load_registry(settings.schemas)
    ctx = WebContext(
        settings,
        registry,
        derive_form(registry),
        Directory(settings.published),
        Signer(settings.secret()),
        Jinja2Templates(directory=HERE / "templates"),
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

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/check":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return ctx.templates.TemplateResponse(
            request, "error.html", {"message": exc.detail, "staff": None}, exc.status_code
        )

    @app.exception_handler(FileNotFoundError)
    async def _unpublished(request: Request, exc: FileNotFoundError) -> Response:
        return HTMLResponse(f"<p>{exc}</p>", status_code=503)

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return ctx.templates.TemplateResponse(request, "login.html", {"error": None})

    @app.post("/login")
    def login(
        request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> Response:
        user = authenticate(settings.users, username.strip(), password)
        if user is None:
            return ctx.templates.TemplateResponse(
                request, "login.html", {"error": "用户名或密码不正确"}, status_code=401
            )
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, ctx.signer.issue(user.username), httponly=True, samesite="strict")
        return resp

    @app.post("/logout")
    def logout() -> Response:
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from hub.web.pages import register_pages
    from hub.web.uploads import register_uploads

    register_pages(app, ctx)
    register_uploads(app, ctx)
    for route in app.routes:  # the OpenAPI description is the departments' API only
        if isinstance(route, APIRoute):
            route.include_in_schema = False
    app.include_router(build_api())
    return app


@dataclass
class Caller:
    staff: Staff
    csrf: str


def current_staff(request: Request) -> Caller:
    """The logged-in staff member; pages without a valid session go to the login page."""
    ctx: WebContext = request.app.state.ctx
    cookie = request.cookies.get(COOKIE)
    username = ctx.signer.user(cookie)
    staff = load_staff(ctx.settings.users).get(username or "")
    if staff is None or cookie is None:
        raise LoginRequired
    return Caller(staff, ctx.signer.csrf(cookie))


StaffDep = Annotated[Caller, Depends(current_staff)]


def check_csrf(request: Request, token: str | None) -> None:
    ctx: WebContext = request.app.state.ctx
    if not ctx.signer.csrf_ok(request.cookies.get(COOKIE, ""), token):
        raise HTTPException(403, "页面已过期，请刷新后重试")


def page(request: Request, name: str, caller: Caller, status: int = 200, **values: Any) -> Response:
    ctx: WebContext = request.app.state.ctx
    values |= {
        "staff": caller.staff,
        "csrf": caller.csrf,
        "community_name": ctx.community_name(caller.staff.community),
    }
    return ctx.templates.TemplateResponse(request, name, values, status_code=status)
