"""Request plumbing shared by every staff page: the app's context, the logged-in caller,
the CSRF check and page rendering. Route modules import from here; `app.py` wires them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from hub.form.consolidated import ConsolidatedForm, derive_form
from hub.publish.directory import Directory
from hub.registry import RegistryError
from hub.registry.loader import Registry, load_registry
from hub.settings import Settings
from hub.share.audit import Access, record
from hub.web.accounts import HOME, ROLES, Staff, load_staff
from hub.web.session import Signer
from hub.web.throttle import Throttle

COOKIE = "hub_session"


class WebContext:
    """What every page needs. The registry (and the one form derived from it) is read again
    when its files change: an approved report or a CLI edit reaches the pages without a
    restart; a registry that no longer loads leaves the last good one in use."""

    RECHECK_S = 1.0  # how often the registry's files are looked at (a stat of each)

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        directory: Directory,
        signer: Signer,
        templates: Jinja2Templates,
        throttle: Throttle,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.signer = signer
        self.templates = templates
        self.throttle = throttle
        self._lock = threading.Lock()
        self._registry, self._form = registry, derive_form(registry)
        self._stamp = registry_stamp(settings.schemas)
        self._checked = time.monotonic()

    @property
    def registry(self) -> Registry:
        self._refresh()
        return self._registry

    @property
    def form(self) -> ConsolidatedForm:
        self._refresh()
        return self._form

    def reload(self) -> None:
        """Read the registry now (after this process changed it)."""
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.RECHECK_S:
            return
        with self._lock:
            self._checked = now
            stamp = registry_stamp(self.settings.schemas)
            if stamp == self._stamp:
                return
            try:
                registry = load_registry(self.settings.schemas)
            except RegistryError:
                return  # half-edited by hand: keep serving the last registry that loaded
            self._registry, self._form, self._stamp = registry, derive_form(registry), stamp

    def community_name(self, code: str) -> str:
        return next((c.name for c in self.registry.orgs.communities if c.code == code), code)


def registry_stamp(schemas: Path) -> tuple[tuple[str, int, int], ...]:
    """The registry files' names, sizes and modification times: changes when any does."""
    out = []
    for p in sorted(schemas.rglob("*.yaml")):
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


class LoginRequired(Exception):
    pass


class OtherRole(Exception):
    """A logged-in user on a page of another role: sent to their own home page."""

    def __init__(self, home: str) -> None:
        self.home = home


@dataclass
class Caller:
    staff: Staff
    csrf: str


def current_user(request: Request) -> Caller:
    """The logged-in user, whatever the role; no valid session goes to the login page."""
    ctx: WebContext = request.app.state.ctx
    cookie = request.cookies.get(COOKIE)
    username = ctx.signer.user(cookie)
    staff = load_staff(ctx.settings.users).get(username or "")
    if staff is None or cookie is None:
        raise LoginRequired
    return Caller(staff, ctx.signer.csrf(cookie))


def _role(*roles: str) -> Callable[[Request], Caller]:
    def dep(request: Request) -> Caller:
        caller = current_user(request)
        if caller.staff.role not in roles:
            raise OtherRole(HOME.get(caller.staff.role, "/login"))
        return caller

    return dep


# community pages are community staff's only: a department user has no community to look in
StaffDep = Annotated[Caller, Depends(_role("community"))]
DeptDep = Annotated[Caller, Depends(_role("department"))]
AdminDep = Annotated[Caller, Depends(_role("admin"))]
AnyDep = Annotated[Caller, Depends(current_user)]


def who(caller: Caller) -> str:
    """How a decision names its maker: the display name, with the login when they differ."""
    staff = caller.staff
    if staff.display_name == staff.username:
        return staff.username
    return f"{staff.display_name}（{staff.username}）"


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
    staff = caller.staff
    unit = {
        "community": ctx.community_name(staff.community),
        "department": staff.department,
        "admin": ROLES["admin"],
    }
    values |= {
        "staff": staff,
        "csrf": caller.csrf,
        "community_name": unit.get(staff.role, ""),
    }
    return ctx.templates.TemplateResponse(request, name, values, status_code=status)
