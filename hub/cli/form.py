"""`hub form`: the consolidated form (社区一张表), its Excel template and imports."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.form.consolidated import derive_form

app = typer.Typer(help="社区一张表：由各部门报表合并而来，每项只问一次。", no_args_is_help=True)


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出一张表的全部字段：分组、代码表、规则，以及哪些部门报表用到它。"""
    s = ctx.settings()
    form = derive_form(ctx.registry(s))
    if as_json:
        ctx.print_json(form.to_json())
        return
    for group, fields in form.groups.items():
        t = Table(title=group, title_justify="left")
        for col in ("字段", "名称", "代码表", "规则", "用到它的报表"):
            t.add_column(col)
        for f in fields:
            note = f"（以{'、'.join(f.authority)}为准）" if f.authority else ""
            t.add_row(
                f.name, f.label + note, f.codelist or "", "、".join(f.rules), "、".join(f.reports)
            )
        ctx.console.print(t)
    ctx.console.print(f"共 {len(form.fields)} 项。")
