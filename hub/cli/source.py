"""`hub source suggest` and `hub source add`: register a department table without code."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.prompt import Confirm, Prompt
from rich.table import Table

from hub.cli import context as ctx
from hub.ingest.raw import match_source
from hub.ingest.read import ReadError
from hub.mapping.register import render_source, write_source
from hub.mapping.suggest import ColumnSuggestion, Suggestion, suggest_file
from hub.registry import Registry, RegistryError
from hub.registry.formsource import FORM_SOURCE

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
    if name == FORM_SOURCE:
        ctx.fail(f"{FORM_SOURCE} 是社区一张表自身的来源名（由报表推导，不能登记），请换一个名称")
    if name in reg.sources:
        ctx.fail(f"来源 {name} 已登记；换一个名称，或删除 schemas/sources/{name}.yaml 后重试")
    dept = reg.departments.resolve(department)
    if dept is None:
        ctx.fail(
            f"部门 {department!r} 不在部门登记表 departments.yaml 中（已登记："
            f"{reg.departments.names()}）；其他叫法可加到该部门的 short"
        )
    department = dept.name
    taken = match_source(reg, file.name)
    if taken is not None:
        # two registrations for one file name: new files would go to whichever comes first
        ctx.fail(
            f"文件名 {file.name} 已属于来源 {taken.name}（file_pattern {taken.file_pattern}）："
            f"这类文件放入待加载目录即按 {taken.name} 加载；若是另一张表，请先改文件名再登记"
        )
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
            f"要修改的列（输入第 1–{len(result.columns)} 列的列号；直接回车表示接受以上全部）",
            default="",
            show_default=False,
            console=ctx.console,
        ).strip()
        if not answer:
            return
        if not answer.isdigit() or not 1 <= int(answer) <= len(result.columns):
            ctx.console.print(f"[red]请输入 1–{len(result.columns)} 之间的列号[/]")
            continue
        col = result.columns[int(answer) - 1]
        _print_choices(col, reg)
        choice = Prompt.ask(
            f"「{col.header}」对应哪个字段？输入字段名，或输入 - 作为扩展列保留",
            console=ctx.console,
        ).strip()
        if choice == "-":
            col.field, col.confidence = None, 1.0
            col.evidence = ["审核时改为扩展列"]
        elif choice in reg.fields:
            if not _fits(col, reg, choice):
                continue
            for other in result.columns:
                if other is not col and other.field == choice:
                    other.field, other.evidence = None, [f"审核时「{col.header}」改映射为 {choice}"]
                    ctx.console.print(f"「{other.header}」原映射为 {choice}，现改为扩展列")
            col.field, col.confidence = choice, 1.0
            col.evidence = [f"审核时指定为 {choice}（{reg.fields[choice].label}）"]
        else:
            near = [
                f"{f.name}（{f.label}）"
                for f in reg.fields.values()
                if choice and (choice in f.name or choice in f.label or f.label in choice)
            ][:5]
            hint = f"，是否是：{'、'.join(near)}" if near else "（可选字段见上表）"
            ctx.console.print(f"[red]没有字段 {choice!r}{hint}[/]")
            continue
        _print(result)


def _print_choices(col: ColumnSuggestion, reg: Registry) -> None:
    """The column's candidates first, then every field by group, each with its Chinese label."""
    if col.candidates:
        ctx.console.print(
            "本列的候选字段："
            + "、".join(
                f"{name}（{reg.fields[name].label}，{conf:.2f}）"
                for name, conf in col.candidates[:5]
            )
        )
    groups: dict[str, list[str]] = {}
    for f in reg.fields.values():
        groups.setdefault(f.group or "其他", []).append(f"{f.name}（{f.label}）")
    table = Table(show_header=True, show_lines=False)
    table.add_column("分组")
    table.add_column("可选字段", overflow="fold")
    for group, names in groups.items():
        table.add_row(group, "、".join(names))
    ctx.console.print(table)


def _fits(col: ColumnSuggestion, reg: Registry, field: str) -> bool:
    """A code-list field: show how many of the column's values its list reads, and ask again
    when most do not (they would fail at run time)."""
    share = col.codelist_fit(reg, field)
    if share is None:
        return True
    label = reg.codelists[reg.fields[field].codelist or ""].label
    ctx.console.print(f"「{col.header}」列的抽样值中 {share:.0%} 属于代码表《{label}》")
    if share >= 0.8:
        return True
    return Confirm.ask(
        f"有 {1 - share:.0%} 的值不在代码表中，加载时会逐条报警告。仍映射为 {field}？",
        default=False,
        console=ctx.console,
    )


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
    # 列, not 序号: files have their own 序号 column
    table = Table(show_lines=False)
    for col in ("列", "表头", "建议字段", "置信度", "依据"):
        table.add_column(col)
    names = result.extension_names()
    for i, c in enumerate(result.columns):
        field = c.field or f"[dim]扩展列 {names[i]}[/]"
        # an extension column has no field to be confident about
        conf = f"{c.confidence:.2f}" if c.field else "—"
        table.add_row(f"第{i + 1}列", c.header, field, conf, "；".join(c.evidence))
    ctx.console.print(table)
