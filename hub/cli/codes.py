"""`hub codes`: values departments write that no code list knows yet, and adding them."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.registry.loader import Registry
from hub.registry.synonyms import FILE, add_synonym
from hub.settings import Settings
from hub.warehouse import table_exists, warehouse

app = typer.Typer(
    help="代码表：列出部门文件中代码表不认识的写法，或把一种写法登记为某个代码。",
    no_args_is_help=True,
)


def unknown_values(s: Settings, reg: Registry) -> list[dict[str, Any]]:
    """Per code list and spelling: how many loaded rows wrote it, in which sources."""
    if not s.warehouse.exists():
        return []
    with warehouse(s.warehouse, read_only=True, resources=s.resources) as con:
        if not table_exists(con, "quarantine", "issues"):
            return []
        rows = con.execute(
            "SELECT field, trim(value) AS v, count(*) AS n, list(DISTINCT source ORDER BY source) "
            "FROM quarantine.issues WHERE rule = 'code_unknown' AND value IS NOT NULL "
            "GROUP BY ALL ORDER BY n DESC, field, v"
        ).fetchall()
    out = []
    for field, value, n, sources in rows:
        f = reg.fields.get(field)
        if f is None or not f.codelist or f.codelist not in reg.codelists:
            continue  # org units and the like: not a code list's spelling
        cl = reg.codelists[f.codelist]
        out.append(
            {
                "codelist": cl.name,
                "label": cl.label,
                "field": field,
                "value": value,
                "rows": int(n),
                "sources": list(sources),
            }
        )
    return out


@app.command("unknown")
def unknown(
    codelist: str | None = typer.Option(
        None, "--list", help="只看一个代码表（如 relation_to_head）"
    ),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """按代码表和出现次数列出已加载数据中代码表不认识的写法。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    rows = [r for r in unknown_values(s, reg) if codelist in (None, r["codelist"])]
    if as_json:
        ctx.print_json(rows)
        return
    if not rows:
        ctx.console.print("没有代码表不认识的写法。")
        return
    t = Table("代码表", "写法", "行数", "来源", title="代码表不认识的写法")
    for r in rows:
        t.add_row(
            f"{r['label']}（{r['codelist']}）", r["value"], str(r["rows"]), "、".join(r["sources"])
        )
    ctx.console.print(t)
    ctx.console.print("登记为某个代码：hub codes add 代码表 写法 --as 代码（下次 hub run 起生效）")


@app.command("add")
def add(
    codelist: str = typer.Argument(..., metavar="代码表", help="代码表名，如 relation_to_head"),
    value: str = typer.Argument(..., metavar="写法", help="部门文件中的写法，如 儿子"),
    code: str = typer.Option(..., "--as", help="它表示的代码，如 20"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """把一种写法登记为代码表中的某个代码（写入 schemas/code_synonyms.yaml），下次运行起接受。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    if codelist not in reg.codelists:
        ctx.fail(f"没有代码表 {codelist!r}（可用：{'、'.join(sorted(reg.codelists))}）")
    try:
        added = add_synonym(s.schemas, reg.codelists[codelist], value, code)
    except ValueError as exc:
        ctx.fail(str(exc))
    label = next(e.label for e in reg.codelists[codelist].entries if e.code == code)
    if as_json:
        ctx.print_json({"codelist": codelist, "value": value, "code": code, "added": added})
        return
    if added:
        ctx.console.print(f"已登记：「{value}」→ {code} {label}（{FILE}），下次 hub run 起生效")
    else:
        ctx.console.print(f"「{value}」已表示 {code} {label}，无需登记")
