"""`hub request`: requests between units (迁入申请 …) for the district's data team."""

from __future__ import annotations

import getpass
from dataclasses import asdict

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.form.consolidated import derive_form
from hub.form.moves import file_move
from hub.publish.directory import Directory
from hub.requests import KINDS, STATUS, decide, requests

app = typer.Typer(
    help="申请：社区之间、社区与部门之间需要对方决定的事（如迁入申请）。", no_args_is_help=True
)


@app.command("list")
def list_requests(
    open_only: bool = typer.Option(False, "--open", help="只列出待处理的"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """列出申请：类型、申请方、决定方、对象、状态。"""
    found = [r for r in requests(ctx.settings().requests) if not open_only or r.status == "open"]
    if as_json:
        ctx.print_json([asdict(r) for r in found])
        return
    if not found:
        ctx.console.print("没有申请。")
        return
    t = Table("编号", "类型", "申请方", "决定方", "对象", "时间", "状态", title="申请")
    for r in found:
        t.add_row(
            r.id[:12], KINDS[r.kind], r.from_unit, r.to_unit, r.subject, r.at, STATUS[r.status]
        )
    ctx.console.print(t)


@app.command("accept")
def accept(
    request_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    why: str = typer.Option("", "--why", help="说明"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """同意一条申请（迁入申请：该居民在下一次归集后归入申请的社区）。"""
    _decide(request_id, "accepted", why, as_json)


@app.command("decline")
def decline(
    request_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    why: str = typer.Option(..., "--why", help="拒绝原因"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """拒绝一条申请。"""
    _decide(request_id, "declined", why, as_json)


def _decide(prefix: str, status: str, why: str, as_json: bool) -> None:
    s = ctx.settings()
    reg = ctx.registry(s)
    match = [r for r in requests(s.requests) if r.id.startswith(prefix)] if prefix else []
    if len(match) != 1:
        ctx.fail(f"没有唯一匹配「{prefix}」的申请（hub request list 查看编号）")
    if match[0].kind == "report_proposal":  # a decision there writes the registry
        ctx.fail("报表准入申请请用 hub proposal approve / reject / share 处理")
    if match[0].kind == "correction":  # the department that owns the value decides
        ctx.fail("更正申请由登记该信息的部门处理：hub corrections accept / decline")
    by = f"数据专班：{getpass.getuser()}"
    try:
        if status == "accepted" and match[0].kind == "move_in":
            file_move(s.submissions, derive_form(reg), Directory(s.published), match[0], by)
        req = decide(s.requests, match[0].id, status, by, why)
    except (LookupError, FileNotFoundError) as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(asdict(req))
        return
    ctx.console.print(
        f"{STATUS[req.status]}：{KINDS[req.kind]} {req.id[:12]}；下次 hub run 时生效。"
    )
