"""`hub review`: decide the pairs the linkage model was unsure of."""

from __future__ import annotations

import getpass

import typer
from rich.prompt import Prompt
from rich.table import Table

from hub.cli import context as ctx
from hub.link.review import Pair, capped_rows, decide, pending
from hub.registry.loader import Registry
from hub.settings import Settings

app = typer.Typer(
    help="人工复核：模型拿不准的配对（是否同一人），决定在下次 hub run 时生效。",
    invoke_without_command=True,
)
CHOICES = {"a": "accept", "r": "reject"}


@app.callback()
def review(
    context: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 列出待复核的配对，不逐一询问"),
    by: str | None = typer.Option(None, "--by", help="复核人（默认为当前登录用户）"),
    capped: bool = typer.Option(
        False, "--capped", help="列出因比对块过大而未能自动比对、单独成人的行"
    ),
) -> None:
    """逐一显示待复核的配对（两边并排），回答 a（同一人）/ r（不是同一人）/ s（跳过）/ q（退出）。"""
    if context.invoked_subcommand is not None:
        return
    s = ctx.settings()
    reg = ctx.registry(s)
    if capped:
        _capped(s, reg, as_json)
        return
    pairs = pending(s, reg)
    if as_json:
        ctx.print_json([p.to_json() for p in pairs])
        return
    if not pairs:
        ctx.console.print("没有待复核的配对。")
        return
    who = by or getpass.getuser()
    done = 0
    for i, p in enumerate(pairs, 1):
        show(p, i, len(pairs))
        answer = Prompt.ask(
            "是同一人吗？a 同一人 / r 不是 / s 跳过 / q 退出",
            choices=["a", "r", "s", "q"],
            default="s",
            console=ctx.console,
        )
        if answer == "q":
            break
        if answer in CHOICES:
            decide(s, reg, p.pair_id, CHOICES[answer], who)
            done += 1
    ctx.console.print(f"已记录 {done} 个决定，下次运行 hub run 时生效。")


def _capped(s: Settings, reg: Registry, as_json: bool) -> None:
    rows = capped_rows(s)
    if as_json:
        ctx.print_json(rows)
        return
    if not rows:
        ctx.console.print("没有因比对块过大而未比对的行。")
        return
    t = Table("来源", "文件中的行", "比对块", "块内记录数", title="未能自动比对的行（单独成人）")
    for r in rows:
        source = reg.sources[r["source"]].title if r["source"] in reg.sources else r["source"]
        t.add_row(source, str(r["source_row"]), r["block"], str(r["block_rows"]))
    ctx.console.print(t)
    ctx.console.print(
        "这些行与许多记录共用同一组比对值（如同一个办公电话），逐对比较会耗尽内存，"
        "已单独成人。请核对原文件：补上身份证号码后重新发送，或在 schemas/linkage.yaml 调整 "
        "max_block_pairs。"
    )


@app.command("accept")
def accept(
    pair_id: str = typer.Argument(..., metavar="配对编号", help="配对编号（见 hub review --json）"),
    by: str | None = typer.Option(None, "--by", help="复核人"),
    note: str = typer.Option("", "--note", help="说明"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """确认为同一人。"""
    _decide(pair_id, "accept", by, note, as_json)


@app.command("reject")
def reject(
    pair_id: str = typer.Argument(..., metavar="配对编号", help="配对编号（见 hub review --json）"),
    by: str | None = typer.Option(None, "--by", help="复核人"),
    note: str = typer.Option("", "--note", help="说明"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """确认不是同一人：以后的运行中两者始终分开。"""
    _decide(pair_id, "reject", by, note, as_json)


def _decide(pair_id: str, decision: str, by: str | None, note: str, as_json: bool) -> None:
    s = ctx.settings()
    who = by or getpass.getuser()
    try:
        p = decide(s, ctx.registry(s), pair_id, decision, who, note)
    except LookupError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json({"pair_id": p.pair_id, "decision": decision, "by": who, "note": note})
        return
    verdict = "同一人" if decision == "accept" else "不是同一人"
    ctx.console.print(
        f"已记录：{p.left.name or '?'} 与 {p.right.name or '?'} {verdict}；下次运行 hub run 时生效。"
    )


def show(p: Pair, i: int, n: int) -> None:
    t = Table(title=f"待复核 {i}/{n}：配对 {p.pair_id}，模型给出的同一人概率 {p.probability:.2f}")
    t.add_column("项目")
    t.add_column("记录甲")
    t.add_column("记录乙")
    rows = [
        ("类型", p.left.kind, p.right.kind),
        ("来源部门", "、".join(p.left.departments), "、".join(p.right.departments)),
        ("姓名", p.left.name, p.right.name),
        ("身份证号", p.left.citizen_id, p.right.citizen_id),
        ("出生日期", p.left.birth_date, p.right.birth_date),
        ("性别", p.left.gender, p.right.gender),
        ("联系电话", p.left.phone, p.right.phone),
        ("地址", p.left.address, p.right.address),
    ]
    for label, a, b in rows:
        same = a == b and a is not None
        t.add_row(label, _cell(a, same), _cell(b, same))
    ctx.console.print(t)
    ctx.console.print(f"依据：{p.evidence}")


def _cell(value: str | None, same: bool) -> str:
    if value is None:
        return "[dim]（空）[/]"
    return f"[green]{value}[/]" if same else f"[yellow]{value}[/]"
