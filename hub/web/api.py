"""The departments' HTTP API (/api/v1): their granted datasets, a resident by ID number.

Every call needs a department token (`Authorization: Bearer hubt_…`); every data request
needs its purpose in `X-Purpose` (percent-encoded UTF-8 for Chinese). Reads go through the
same guarded query path as `hub query`, so the same grants, masking and access log apply.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from hub.csv_safe import safe_table
from hub.share.describe import describe_grant
from hub.share.guard import QueryRefused
from hub.share.query import QueryFailed, QueryResult, granted_tables, run_query
from hub.share.residents import person_id_of
from hub.share.tables import KEY
from hub.share.tokens import Token, check_token
from hub.warehouse import lit, q

bearer = HTTPBearer(auto_error=False, description="部门接口令牌：hub token create 创建")
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "缺少用途（X-Purpose）或参数不正确"},
    401: {"description": "缺少令牌、令牌无效或已吊销"},
    403: {"description": "查询超出授权"},
    404: {"description": "没有此数据集或此人不在授权范围内"},
}


class CodeInfo(BaseModel):
    code: str
    label: str


class CodeListInfo(BaseModel):
    name: str
    label: str
    codes: list[CodeInfo]


class FieldInfo(BaseModel):
    name: str
    label: str
    type: str
    masked: bool
    mask: str  # how a masked value is shown
    codelist: CodeListInfo | None  # for code fields: every code and its label
    label_column: str | None  # the column beside it holding the label (labels=true)


class PlaceInfo(BaseModel):
    code: str
    name: str


class RowScopeInfo(BaseModel):
    text: str  # which residents, in words
    jurisdiction: list[PlaceInfo]  # empty: the whole district
    population: list[str]  # conditions, all of which hold


class DatasetInfo(BaseModel):
    name: str
    title: str
    share_type: str
    purpose: str
    expires: date | None
    rows: RowScopeInfo
    fields: list[FieldInfo]


MAX_FIELDS, MAX_FILTERS = 100, 20  # a request is one reader's question, not a flood in the log


def token_of(
    request: Request,
    cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Token:
    if cred is None:
        raise HTTPException(401, "缺少令牌：请在 Authorization 头中提供 Bearer 令牌")
    token, why = check_token(request.app.state.ctx.settings.tokens, cred.credentials)
    if token is None:
        raise HTTPException(401, why)
    return token


def purpose_of(
    x_purpose: Annotated[str | None, Header(description="查询用途（UTF-8 百分号编码）")] = None,
) -> str:
    raw = x_purpose or ""
    if any(not (0x20 <= ord(ch) < 0x7F) for ch in raw):  # HTTP headers carry no raw Chinese
        raise HTTPException(
            400,
            "X-Purpose 须为百分号编码的 UTF-8（如 JavaScript 的 encodeURIComponent、Python 的 "
            "urllib.parse.quote）；收到的是未编码的文字，无法可靠记入访问日志",
        )
    try:
        text = unquote(raw, errors="strict").strip()
    except UnicodeDecodeError:
        raise HTTPException(400, "X-Purpose 不是有效的 UTF-8 百分号编码") from None
    if not text:
        raise HTTPException(400, "须在请求头 X-Purpose 中说明查询用途")
    return text


TokenDep = Annotated[Token, Depends(token_of)]
PurposeDep = Annotated[str, Depends(purpose_of)]


def build_api() -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["共享数据"], responses=ERRORS)

    @api.get("/datasets", response_model=list[DatasetInfo], summary="本部门可读的数据集")
    def datasets(request: Request, token: TokenDep) -> list[DatasetInfo]:
        reg = request.app.state.ctx.registry
        return [
            DatasetInfo.model_validate(describe_grant(reg, reg.shares[name]))
            for name in granted_tables(reg, token.department, date.today())
        ]

    @api.get("/datasets/{name}", summary="读取数据集（字段选择、筛选、分页）")
    def dataset(
        request: Request,
        token: TokenDep,
        purpose: PurposeDep,
        name: Annotated[str, Path(description="数据集名（即授权名）")],
        fields: Annotated[str | None, Query(description="逗号分隔的字段名，默认全部")] = None,
        filter: Annotated[
            list[str], Query(description="筛选条件 字段=值，可重复（同时满足）")
        ] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
        limit: Annotated[int, Query(ge=1, le=10000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        format: Literal["json", "csv", "parquet"] = "json",
        labels: Annotated[
            bool, Query(description="代码字段旁附中文名称列（如 gender_label）")
        ] = True,
    ) -> Response:
        ctx = request.app.state.ctx
        tables = granted_tables(ctx.registry, token.department, date.today())
        if name not in tables:
            raise HTTPException(404, f"没有数据集 {name}，或未授权给本部门")
        cols = [c.strip() for c in (fields or "").split(",") if c.strip()] or tables[name]
        if len(cols) > MAX_FIELDS or len(filter) > MAX_FILTERS:
            raise HTTPException(
                400,
                f"一次最多选 {MAX_FIELDS} 个字段、{MAX_FILTERS} 个筛选条件（收到 "
                f"{len(cols)} 个字段、{len(filter)} 个条件）",
            )
        where = [_condition(f, tables[name]) for f in filter]
        bad = [c for c in cols if c not in tables[name]]
        if bad:
            raise HTTPException(403, f"字段 {', '.join(bad)} 不在本部门的授权范围内")
        sql = (
            f"SELECT {', '.join(q(c) for c in cols)} FROM {q(name)}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY {KEY} LIMIT {limit} OFFSET {offset}"
        )
        result = _run(request, token, sql, purpose, labels)
        return _respond(result, name, format, limit, offset)

    @api.get("/persons/{citizen_id}", summary="按公民身份号码读取一位居民（仅授权字段）")
    def person(
        request: Request,
        token: TokenDep,
        purpose: PurposeDep,
        citizen_id: str,
        labels: Annotated[bool, Query(description="代码字段旁附中文名称列")] = True,
    ) -> Response:
        ctx = request.app.state.ctx
        pid = person_id_of(ctx.settings, citizen_id)
        tables = granted_tables(ctx.registry, token.department, date.today())
        found: dict[str, Any] = {}
        # someone who is not in the district costs the same queries and leaves the same log
        # entries as someone who is: neither timing nor the log tells them apart
        probe = pid or NOBODY
        for name in tables:
            sql = f"SELECT * FROM {q(name)} WHERE {KEY} = {lit(probe)}"
            rows = _run(request, token, sql, purpose, labels).table.to_pylist()
            if rows and pid is not None:
                found[name] = rows[0]
        if not found:
            raise HTTPException(
                404, "没有此人，或此人不在本部门的授权范围内（各数据集的行范围见 /api/v1/datasets）"
            )
        return JSONResponse(jsonable_encoder({"citizen_id": citizen_id, "datasets": found}))

    return api


def _condition(text: str, columns: list[str]) -> str:
    field, sep, value = text.partition("=")
    if not sep or field.strip() not in columns:
        raise HTTPException(400, f"筛选条件应写作 字段=值，字段须为已授权字段（收到 {text!r}）")
    return f"CAST({q(field.strip())} AS VARCHAR) = {lit(value)}"


def _run(
    request: Request, token: Token, sql: str, purpose: str, labels: bool = False
) -> QueryResult:
    ctx = request.app.state.ctx
    user = f"token:{token.id}（{token.name}）"
    try:
        return run_query(
            ctx.settings, ctx.registry, token.department, sql, purpose, user, "api", labels=labels
        )
    except QueryFailed as exc:
        raise HTTPException(400, str(exc)) from exc
    except QueryRefused as exc:
        raise HTTPException(403, str(exc)) from exc


def _respond(result: QueryResult, name: str, fmt: str, limit: int, offset: int) -> Response:
    table = result.table
    if fmt == "csv":
        buf = io.BytesIO()
        pacsv.write_csv(safe_table(table), buf)
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return Response(buf.getvalue(), media_type="application/vnd.apache.parquet")
    doc = {"dataset": name, "offset": offset, "limit": limit, "rows": table.num_rows}
    return JSONResponse(jsonable_encoder(doc | {"data": table.to_pylist()}))


NOBODY = "P" + "0" * 16  # a person id no keyed hash produces: matches no row
TITLE = "一张表 Hub 共享数据接口"
DESCRIPTION = "部门凭令牌读取被授权的数据；每次读取须说明用途，并记入访问日志。"


def openapi_spec() -> dict[str, Any]:
    """The API's OpenAPI description, without an installation (for tools and tests)."""
    from fastapi import FastAPI

    app = FastAPI(title=TITLE, version="1", description=DESCRIPTION)
    app.include_router(build_api())
    return app.openapi()
