"""`hub form`: the consolidated form (社区一张表), its Excel template and imports."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.form.consolidated import derive_form
from hub.form.excel_import import ImportResult, import_template
from hub.form.pending import current_people, held_by_person
from hub.form.template import BLANK_ROWS, template_name, write_template
from hub.publish.directory import Directory

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
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果"),
) -> None:
    """生成本社区居民的预填 Excel 模板（下拉选项来自代码表，带输入校验和填写说明）。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    if community not in {c.code for c in reg.orgs.communities}:
        ctx.fail(f"没有社区代码 {community}（见 schemas/orgunits.yaml）")
    directory = Directory(s.published)
    try:
        people = current_people(s.submissions, directory, community)
    except FileNotFoundError as exc:
        ctx.fail(str(exc))
    path = out or s.data / "templates" / template_name(community, date.today())
    path.parent.mkdir(parents=True, exist_ok=True)
    form = derive_form(reg)
    held = held_by_person(directory, form, community)
    info = write_template(path, reg, form, community, people, s.secret(), directory.release(), held)
    if as_json:
        ctx.print_json(
            {
                "community": community,
                "residents": info.residents,
                "blank_rows": BLANK_ROWS,
                "made_at": info.made_at,
                "file": str(path),
            }
        )
        return
    ctx.console.print(f"已生成模板：{info.residents} 位居民（另留 {BLANK_ROWS} 行可新增）→ {path}")


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., metavar="文件", help="填好的模板（.xlsx，文件名不限）"),
    community: str | None = typer.Option(
        None, "--community", help="只接受该社区的模板（默认：按模板内容识别）"
    ),
    by: str | None = typer.Option(None, "--by", help="导入人（默认：当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果"),
) -> None:
    """导入填好的模板：只提交改动过的单元格，逐行逐格列出问题，冲突留待社区确认。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    ctx.require_file(file)
    try:
        result = import_template(
            s, reg, derive_form(reg), file, file.name, by or getpass.getuser(), community
        )
    except FileNotFoundError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(result.to_json())
    else:
        print_import(result)
    if result.rejected is not None:
        raise typer.Exit(1)


def print_import(result: ImportResult) -> None:
    if result.rejected is not None:
        ctx.err_console.print(f"[bold red]未导入[/] {result.file}：{result.rejected}")
        return
    if result.issues:
        t = Table(title=f"{result.file} 的问题", title_justify="left")
        for col in ("行", "列", "级别", "说明", "单元格内容"):
            t.add_column(col)
        for i in result.issues:
            level = "[red]错误[/]" if i.severity == "error" else "[yellow]提醒[/]"
            t.add_row(str(i.row), i.column, level, i.message, i.value or "")
        ctx.console.print(t)
    ctx.console.print(
        f"已导入 {result.file}：{result.changed} 位居民的 {result.cells} 项修改、"
        f"{result.added} 位新增居民已提交（下次 hub run 时归集）；未改动 {result.unchanged} 行；"
        f"此前已导入 {result.already} 行；有错误未导入 {result.not_taken} 行；"
        f"待社区确认的冲突 {len(result.conflicts)} 处；发给登记部门的更正申请 {result.corrections} 条。"
    )
