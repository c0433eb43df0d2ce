"""Request plumbing shared by every staff page: the app's context, the logged-in caller,
the CSRF check and page rendering. Route modules import from here; `app.py` wires them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from hub.form.consolidated import ConsolidatedForm
from hub.publish.directory import Directory
from hub.registry.loader import Registry
from hub.settings import Settings
from hub.share.audit import Access, record
from hub.web.accounts import Staff, load_staff
from hub.web.session import Signer
from hub.web.throttle import Throttle

COOKIE = "hub_session"


@dataclass
class WebContext:
    settings: Settings
    registry: Registry
    form: ConsolidatedForm
    directory: Directory
    signer: Signer
    templates: Jinja2Templates
    throttle: Throttle

    def community_name(self, code: str) -> str:
        return next((c.name for c in self.registry.orgs.communities if c.code == code), code)


class LoginRequired(Exception):
    pass


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


def log_read(
    ctx: WebContext, caller: Caller, what: str, persons: list[str], fields: list[str]
) -> None:
    """Staff reads are logged like department reads: who, which residents, which fields."""
    staff = caller.staff
    access = Access(
        channel="web",
        user=staff.username,
        department=f"社区工作人员（{ctx.community_name(staff.community)}）",
        tables=["person"],
        fields=fields,
        rows=len(persons),
        filter=what,
        purpose="社区一张表：查找、填报本社区居民",
        persons=persons,
    )
    record(ctx.settings, access)


def page(request: Request, name: str, caller: Caller, status: int = 200, **values: Any) -> Response:
    ctx: WebContext = request.app.state.ctx
    values |= {
        "staff": caller.staff,
        "csrf": caller.csrf,
        "community_name": ctx.community_name(caller.staff.community),
    }
    return ctx.templates.TemplateResponse(request, name, values, status_code=status)
