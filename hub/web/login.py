"""Logging in and out: throttled against guessing, sessions ended on the server at logout,
cookies marked Secure when the hub is served over https."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.web.accounts import HOME, authenticate
from hub.web.context import COOKIE, WebContext


def register_login(app: FastAPI, ctx: WebContext) -> None:
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return ctx.templates.TemplateResponse(request, "login.html", {"error": None})

    @app.post("/login")
    def login(
        request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> Response:
        name = username.strip()
        address = request.client.host if request.client else "-"
        wait = ctx.throttle.wait(name, address)
        if wait:
            error = f"登录失败次数过多，请 {max(1, (wait + 59) // 60)} 分钟后再试"
            return _login_error(request, ctx, error, 429)
        user = authenticate(ctx.settings.users, name, password)
        if user is None:
            ctx.throttle.failed(name, address)
            return _login_error(request, ctx, "用户名或密码不正确", 401)
        ctx.throttle.succeeded(name)
        resp = RedirectResponse(HOME.get(user.role, "/"), status_code=303)
        resp.set_cookie(
            COOKIE,
            ctx.signer.issue(user.username),
            httponly=True,
            samesite="strict",
            secure=ctx.settings.public_url.startswith("https://"),  # TLS often ends at a proxy
        )
        return resp

    @app.post("/logout")
    def logout(request: Request) -> Response:
        ctx.signer.revoke(request.cookies.get(COOKIE))  # the old cookie no longer works anywhere
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp


def _login_error(request: Request, ctx: WebContext, error: str, status: int) -> Response:
    return ctx.templates.TemplateResponse(
        request, "login.html", {"error": error}, status_code=status
    )
