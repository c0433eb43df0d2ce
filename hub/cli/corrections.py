"""`hub corrections`: the departments' queues of corrections filed by community staff."""

from __future__ import annotations

import getpass
from dataclasses import asdict

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.form.corrections import CorrectionError, answer, corrections
from hub.requests import STATUS

app = typer.Typer(
    help="更正申请（纠错回流）：社区对部门登记信息的更正，由登记部门确认或不予更正。",
    no_args_is_help=True,
)


@app.command("list")
def list_corrections(
    department: str | None = typer.Option(None, "--department", help="只列出发给该部门的"),
    open_only: bool = typer.Option(False, "--open", help="只列出待处理的"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """列出更正申请：居民、项目、现登记值、应为、理由、社区、状态。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    dept = None
    if department:
        found = reg.departments.resolve(department)
        if found is None:
            ctx.fail(f"部门 {department!r} 不在部门登记表中（已登记：{reg.departments.names()}）")
        dept = found.name
    items = [
        r
        for r in corrections(s.requests)
        if (dept is None or r.to_unit == dept) and (not open_only or r.status == "open")
    ]
    if as_json:
        ctx.print_json([asdict(r) for r in items])
        return
    if not items:
        ctx.console.print("没有更正申请。")
        return
    t = Table(
        "编号", "部门", "居民", "项目", "现登记", "应为", "理由", "社区", "状态", title="更正申请"
    )
    for r in items:
        p = r.payload
        t.add_row(
            r.id[:12],
            r.to_unit,
            p["name"],
            p["label"],
            p["old_shown"],
            p["new_shown"],
            p["reason"],
            r.from_unit,
            STATUS[r.status] + (f"（{r.why}）" if r.why else ""),
        )
    ctx.console.print(t)


@app.command("accept")
def accept(
    request_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    why: str = typer.Option("", "--why", help="说明"),
    by: str | None = typer.Option(None, "--by", help="处理人（默认当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """确认更正：下一次归集起使用更正后的值（本部门以后发来新值时以新值为准）。"""
    _answer(request_id, True, why, by, as_json)


@app.command("decline")
def decline(
    request_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    why: str = typer.Option(..., "--why", help="不予更正的原因（社区工作人员会看到）"),
    by: str | None = typer.Option(None, "--by", help="处理人（默认当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """不予更正，写明原因。"""
    _answer(request_id, False, why, by, as_json)


def _answer(prefix: str, accept: bool, why: str, by: str | None, as_json: bool) -> None:
    s = ctx.settings()
    match = [r for r in corrections(s.requests) if prefix and r.id.startswith(prefix)]
    if len(match) != 1:
        ctx.fail(f"没有唯一匹配「{prefix}」的更正申请（hub corrections list 查看编号）")
    req = match[0]
    who = by or f"{req.to_unit}：{getpass.getuser()}"
    try:
        done = answer(s.requests, req.id, accept, who, why, req.to_unit)
    except (CorrectionError, LookupError) as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(asdict(done))
        return
    p = done.payload
    verb = "已确认更正" if accept else "已答复不予更正"
    ctx.console.print(f"{verb}：{p['name']}的{p['label']} {p['old_shown']} → {p['new_shown']}")
