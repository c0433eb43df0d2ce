"""`hub source suggest` and `hub source add`: register a department table without code."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.prompt import Prompt
from rich.table import Table

from hub.cli import context as ctx
from hub.ingest.read import ReadError
from hub.mapping.register import render_source, write_source
from hub.mapping.suggest import Suggestion, suggest_file
from hub.registry import Registry, RegistryError

app = typer.Typer(
    help="登记部门表：自动建议列映射，审核后写入 schemas/sources/。", no_args_is_help=True
)


def _suggest(path: Path, reg: Registry, sheet: str | None) -> Suggestion:
    ctx.require_file(path)
    try:
        with ctx.steps() as say:
            say(f"读取并分析 {path.name}")
            return suggest_file(path, reg, _sheet(sheet))
    except ReadError as exc:
        ctx.fail(str(exc))


def _sheet(sheet: str | None) -> str | int | None:
    return int(sheet) if sheet is not None and sheet.isdigit() else sheet


@app.command()
def suggest(
    file: Path = typer.Argument(..., metavar="文件", help="部门导出的 CSV 或 XLSX 文件"),
    sheet: str | None = typer.Option(None, "--sheet", help="工作表名称或序号（默认第一个）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """读取文件（与加载时完全相同的方式），为每一列建议对应的标准字段、置信度和依据。"""
    s = ctx.settings()
    result = _suggest(file, ctx.registry(s), sheet)
    if as_json:
        ctx.print_json(result.to_json())
        return
    _print(result)


@app.command()
def add(
    file: Path = typer.Argument(..., metavar="文件", help="部门导出的 CSV 或 XLSX 文件"),
    department: str = typer.Option(..., "--department", help="部门名称，如 民政局"),
    name: str = typer.Option(
        ..., "--name", help="来源名（小写字母、数字、下划线），如 dibao_roster"
    ),
    sheet: str | None = typer.Option(None, "--sheet", help="工作表名称或序号"),
    title: str | None = typer.Option(None, "--title", help="表名（默认取文件的标题行）"),
    owner: str | None = typer.Option(None, "--owner", help="负责科室或联系人"),
    yes: bool = typer.Option(False, "--yes", "-y", help="不逐列审核，直接采用建议"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果（不逐列审核）"),
) -> None:
    """根据建议登记一张新的部门表：审核（接受 / 改字段 / 设为扩展列）后写入来源登记。"""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        ctx.fail(f"来源名 {name!r} 须为小写字母开头的 snake_case，如 dibao_roster")
    s = ctx.settings()
    reg = ctx.registry(s)
    if name in reg.sources:
        ctx.fail(f"来源 {name} 已登记；换一个名称，或删除 schemas/sources/{name}.yaml 后重试")
    result = _suggest(file, reg, sheet)
    if not as_json:
        _print(result)
    if not (yes or as_json):
        _review(result, reg)
    text = render_source(result, name, department, title, owner)
    try:
        path = write_source(s.schemas, name, text)
    except (RegistryError, FileExistsError) as exc:
        ctx.fail(str(exc))
    mapped = sum(1 for c in result.columns if c.field)
    if as_json:
        doc = {"source": name, "department": department, "path": str(path), "mapped": mapped}
        ctx.print_json(doc | {"extension": len(result.columns) - mapped, **result.to_json()})
        return
    ctx.console.print(
        f"已登记来源 [bold]{name}[/]：{mapped} 列映射到标准字段，"
        f"{len(result.columns) - mapped} 列作为扩展列保留 → {path}"
    )
    ctx.console.print(
        f"把此类文件放入 {s.incoming} 后运行 hub run 即可加载（新的 Dagster 资产自动出现）。"
    )


def _review(result: Suggestion, reg: Registry) -> None:
    """Let the data team accept, change or demote each proposal before anything is written."""
    while True:
        answer = Prompt.ask(
            "要修改的列序号（直接回车表示接受以上全部）", default="", console=ctx.console
        ).strip()
        if not answer:
            return
        if not answer.isdigit() or not 1 <= int(answer) <= len(result.columns):
            ctx.console.print(f"[red]请输入 1–{len(result.columns)} 之间的序号[/]")
            continue
        col = result.columns[int(answer) - 1]
        choice = Prompt.ask(
            f"「{col.header}」对应哪个字段？输入字段名，或输入 - 作为扩展列保留",
            console=ctx.console,
        ).strip()
        if choice == "-":
            col.field, col.confidence = None, 1.0
            col.evidence = ["审核时改为扩展列"]
        elif choice in reg.fields:
            for other in result.columns:
                if other is not col and other.field == choice:
                    other.field, other.evidence = None, [f"审核时「{col.header}」改映射为 {choice}"]
                    ctx.console.print(f"「{other.header}」原映射为 {choice}，现改为扩展列")
            col.field, col.confidence = choice, 1.0
            col.evidence = [f"审核时指定为 {choice}（{reg.fields[choice].label}）"]
        else:
            near = [f for f in reg.fields if choice and (choice in f or f in choice)][:5]
            hint = f"，是否是：{'、'.join(near)}" if near else "（字段见 schemas/fields.yaml）"
            ctx.console.print(f"[red]没有字段 {choice!r}{hint}[/]")
            continue
        _print(result)


def _print(result: Suggestion) -> None:
    where = f"工作表「{result.sheet}」，" if result.sheet else ""
    enc = f"编码 {result.encoding}，" if result.encoding else ""
    header = f"第 {result.header_row} 行" + (
        f"起 {result.header_rows} 行合并表头" if result.header_rows > 1 else ""
    )
    ctx.console.print(
        f"[bold]{result.file}[/]：{where}{enc}表头在{header}，数据 {result.rows} 行"
        + (f"，标题「{result.title}」" if result.title else "")
    )
    table = Table(show_lines=False)
    for col in ("序号", "表头", "建议字段", "置信度", "依据"):
        table.add_column(col)
    for i, c in enumerate(result.columns, 1):
        field = c.field or "[dim]扩展列[/]"
        table.add_row(str(i), c.header, field, f"{c.confidence:.2f}", "；".join(c.evidence))
    ctx.console.print(table)
