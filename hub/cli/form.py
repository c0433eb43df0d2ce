"""`hub form`: the consolidated form (社区一张表), its Excel template and imports."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.form.consolidated import derive_form
from hub.form.excel_import import ImportCheck, check_file, hand_over
from hub.form.template import BLANK_ROWS, template_name, write_template
from hub.web.residents import Directory

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


@app.command("template")
def template(
    community: str = typer.Option(..., "--community", help="社区代码（见 schemas/orgunits.yaml）"),
    out: Path | None = typer.Option(None, "--out", help="输出文件（默认：data/templates/ 下）"),
) -> None:
    """生成本社区居民的预填 Excel 模板（下拉选项来自代码表，带输入校验）。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    if community not in {c.code for c in reg.orgs.communities}:
        ctx.fail(f"没有社区代码 {community}（见 schemas/orgunits.yaml）")
    try:
        people = Directory(s.published).community_people(community)
    except FileNotFoundError as exc:
        ctx.fail(str(exc))
    path = out or s.data / "templates" / template_name(community, date.today())
    path.parent.mkdir(parents=True, exist_ok=True)
    n = write_template(path, reg, derive_form(reg), community, people)
    ctx.console.print(f"已生成模板：{n} 位居民（另留 {BLANK_ROWS} 行可新增）→ {path}")


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="填好的模板（社区一张表_*.xlsx / .csv）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出检查结果"),
) -> None:
    """检查填好的模板（逐行逐格），并交给下一次归集（hub run）。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    if not file.is_file():
        ctx.fail(f"找不到文件 {file}")
    try:
        checked = check_file(reg, file)
        if checked.rejected is None:
            hand_over(reg, file, s.incoming, file.name)
    except ValueError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(asdict(checked) | {"accepted": checked.rejected is None})
    else:
        print_import(checked)
    if checked.rejected is not None:
        raise typer.Exit(1)


def print_import(checked: ImportCheck) -> None:
    if checked.rejected is not None:
        ctx.err_console.print(f"[bold red]未接收[/] {checked.file}：{checked.rejected}")
        return
    for note in checked.notes:
        ctx.console.print(f"注意：{note}")
    if checked.issues:
        t = Table(title=f"{checked.file} 的问题", title_justify="left")
        for col in ("行", "列", "级别", "说明", "原值"):
            t.add_column(col)
        for i in checked.issues:
            level = "[red]错误[/]" if i.severity == "error" else "[yellow]提醒[/]"
            t.add_row(str(i.row), i.column, level, i.message, i.value or "")
        ctx.console.print(t)
    ctx.console.print(
        f"已接收 {checked.file}：{checked.rows} 行，其中 {checked.bad_rows} 行有错误"
        "（将进入隔离区，其余行在下次 hub run 时归集）。"
    )
