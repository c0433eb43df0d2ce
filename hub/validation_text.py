"""Pydantic's validation errors (from FastAPI requests and Typer options) in Chinese."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# pydantic error type -> what was expected
EXPECTED = {
    "missing": "必须提供",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是/否（true / false）",
    "decimal_parsing": "应为数字",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "datetime_parsing": "应为日期时间",
    "enum": "不在可选值中",
    "literal_error": "不在可选值中",
    "path_type": "路径类型不正确",
    "string_type": "应为文本",
    "string_too_long": "文本过长",
    "string_too_short": "不能为空",
    "greater_than": "超出允许的范围",
    "greater_than_equal": "超出允许的范围",
    "less_than": "超出允许的范围",
    "less_than_equal": "超出允许的范围",
    "json_invalid": "不是有效的 JSON",
    "dict_type": "应为对象（键值对）",
    "list_type": "应为列表",
}


def expected(error: dict[str, Any]) -> str:
    """One error as「应为整数（收到 'abc'）」."""
    text = EXPECTED.get(str(error.get("type")), "取值不符合要求")
    ctx = error.get("ctx") or {}
    if error.get("type") == "literal_error" and ctx.get("expected"):
        text += f"（可选：{ctx['expected']}）"
    if error.get("type") in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = next(iter(ctx.values()), None)
        text += f"（界限 {bound}）" if bound is not None else ""
    value = error.get("input")
    if (
        value is not None
        and error.get("type") != "missing"
        and isinstance(value, (str, int, float))
    ):
        text += f"（收到 {value!r}）"
    return text


def describe(errors: Sequence[dict[str, Any]]) -> str:
    """Every error of a request, each naming the parameter, joined."""
    parts = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = f"参数 {'.'.join(loc)}：" if loc else ""
        parts.append(where + expected(e))
    return "；".join(parts) or "请求不符合要求"
