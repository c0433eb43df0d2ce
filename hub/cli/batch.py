"""`hub batch`: the batches of every source, and the data team's decision on held ones."""

from __future__ import annotations

import getpass
from dataclasses import asdict

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.ingest.holds import HELD, STATUS_LABEL, Batch, batches, decide
from hub.run_lock import run_lock
from hub.warehouse import table_exists, warehouse

app = typer.Typer(help="批次：各来源载入的文件，以及被暂缓的批次的处理。", no_args_is_help=True)


@app.command("list")
def list_batches(
    held: bool = typer.Option(False, "--held", help="只列出暂缓采用、等待决定的批次"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """列出批次：来源、文件、行数、载入时间、状态与原因。"""
    s = ctx.settings()
    if not s.warehouse.exists():
        found: list[Batch] = []
    else:
        with warehouse(s.warehouse, read_only=True, resources=s.resources) as con:
            have = table_exists(con, "raw", "_batches")
            found = batches(con, HELD if held else None) if have else []
    if as_json:
        ctx.print_json([asdict(b) for b in found])
        return
    if not found:
        ctx.console.print("没有暂缓的批次。" if held else "还没有载入任何批次。")
        return
    t = Table("批次", "来源", "文件", "行数", "载入时间", "状态", "原因", title="批次")
    for b in found:
        t.add_row(
            b.batch_id,
            b.source,
            b.file_name,
            str(b.rows),
            f"{b.loaded_at:%Y-%m-%d %H:%M}",
            STATUS_LABEL[b.status],
            b.reason or "",
        )
    ctx.console.print(t)


@app.command("release")
def release(
    batch_id: str = typer.Argument(
        ..., metavar="批次", help="批次编号（见 hub batch list --held）"
    ),
    by: str | None = typer.Option(None, "--by", help="决定人（默认：当前系统用户）"),
    reason: str = typer.Option("", "--reason", help="说明"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """采用一个暂缓的批次：下次 hub run 起参与归集。"""
    _decide(batch_id, "release", by, reason, as_json)


@app.command("reject")
def reject(
    batch_id: str = typer.Argument(
        ..., metavar="批次", help="批次编号（见 hub batch list --held）"
    ),
    reason: str = typer.Option(..., "--reason", help="拒收原因（记录在批次上）"),
    by: str | None = typer.Option(None, "--by", help="决定人（默认：当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """拒收一个暂缓的批次：它的行永不参与归集（原文件仍在归档中）。"""
    _decide(batch_id, "reject", by, reason, as_json)


def _decide(batch_id: str, action: str, by: str | None, reason: str, as_json: bool) -> None:
    s = ctx.settings()
    if not s.warehouse.exists():
        ctx.fail("还没有数据仓库：请先运行 hub run")
    with run_lock(s.data), warehouse(s.warehouse, resources=s.resources) as con:
        try:
            b = decide(con, batch_id, action, by or getpass.getuser(), reason)
        except LookupError as exc:
            ctx.fail(str(exc))
    if as_json:
        ctx.print_json(asdict(b))
        return
    verb = "已采用" if action == "release" else "已拒收"
    ctx.console.print(f"{verb}批次 {b.batch_id}（{b.source}，{b.rows} 行）；下次 hub run 时生效。")
