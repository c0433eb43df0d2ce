"""How the web app answers when a request cannot be served: always in Chinese, as a page for
staff and as JSON for the API and the inline checks."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.validation_text import describe
from hub.web.context import LoginRequired, OtherRole, WebContext

# the framework's own details for errors it raises by itself
_DEFAULT_DETAIL = {
    "Not Found": "没有这个页面或接口",
    "Method Not Allowed": "不支持这种请求方式",
    "Unauthorized": "未登录或令牌无效",
    "Forbidden": "没有权限",
    "Internal Server Error": "服务器内部错误",
}
# the multipart parser's own words for a form past its limits
_FORM_LIMITS = (
    ("Field exceeded maximum size", "表单中有一项内容过长（超过 1 MB）：请检查后重新填写"),
    ("Too many fields", "表单的项数过多"),
    ("Too many files", "一次上传的文件过多"),
)


def _json_client(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/check"


def install_error_handlers(app: FastAPI, ctx: WebContext) -> None:
    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(OtherRole)
    async def _to_home(request: Request, exc: OtherRole) -> Response:
        if _json_client(request):  # the inline check: no page to go to
            return JSONResponse({"detail": "没有权限"}, status_code=403)
        return RedirectResponse(exc.home, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = _DEFAULT_DETAIL.get(str(exc.detail), exc.detail)
        for english, chinese in _FORM_LIMITS:
            if str(detail).startswith(english):
                detail = chinese
        return _answer(request, ctx, detail, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _answer(request, ctx, describe(list(exc.errors())), 422)

    @app.exception_handler(FileNotFoundError)
    async def _unpublished(request: Request, exc: FileNotFoundError) -> Response:
        return _answer(request, ctx, str(exc), 503)


def _answer(request: Request, ctx: WebContext, message: object, status: int) -> Response:
    if _json_client(request):
        return JSONResponse({"detail": message}, status_code=status)
    return ctx.templates.TemplateResponse(
        request, "error.html", {"message": message, "staff": None}, status
    )
