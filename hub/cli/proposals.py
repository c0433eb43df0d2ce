"""`hub report list|propose` and `hub proposal …`: the report catalogue and 报表准入.

Named apart from `hub review`, which decides linkage pairs.
"""

from __future__ import annotations

import getpass
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.ingest.read import ReadError
from hub.registry import Registry
from hub.reports.catalogue import catalogue, stamp
from hub.reports.population import PopulationError, parse_population
from hub.reports.proposal import PERIOD_LABEL, TYPE_LABEL, Analysis, analyse_draft
from hub.reports.proposals import (
    FieldEdit,
    ProposalError,
    approve,
    file_proposal,
    find_proposal,
    proposals,
    reject,
    share_instead,
)
from hub.requests import STATUS

app = typer.Typer(
    help="报表准入：部门新报表的申请，由减负办批准、驳回或改为共享。", no_args_is_help=True
)
PERIODS = {"月报": "monthly", "季报": "quarterly", "年报": "yearly"} | {v: v for v in PERIOD_LABEL}
TYPE_NAMES = {label: code for code, label in TYPE_LABEL.items()} | {"是否": "boolean"}
STATUS_TEXT = {"held": "已有", "derivable": "可推算", "computed": "自动生成", "new": "新增"}


def list_command(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """报表目录清单：各部门在用、待审、已驳回、已停用的报表，以及每张表的填报负担。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    entries = catalogue(s, reg)
    if as_json:
        ctx.print_json([e.to_json() for e in entries])
        return
    t = Table(title="报表目录清单")
    for col in (
        "部门",
        "报表",
        "周期",
        "人群",
        "字段数",
        "行数",
        "每年填报项",
        "状态",
        "最近生成",
        "需复核",
    ):
        t.add_column(col, overflow="fold")
    for e in entries:
        t.add_row(
            e.department,
            e.title,
            PERIOD_LABEL[e.period],
            e.population,
            str(len(e.fields)),
            "—" if e.rows is None else f"{e.rows:,}",
            "—" if e.entries_per_year is None else f"{e.entries_per_year:,}",
            e.status,
            stamp(e.last_generated),
            e.review or "",
        )
    ctx.console.print(t)
    flagged = [e for e in entries if e.review]
    if flagged:
        ctx.console.print(
            f"[yellow]{len(flagged)} 张报表需复核（是否停用）："
            + "、".join(f"《{e.title}》{e.review}" for e in flagged)
            + "[/]"
        )


def propose_command(
    file: Path = typer.Argument(
        ..., metavar="文件", help="部门的报表草案（XLSX、XLS、CSV 或 Word .docx 中的表格）"
    ),
    department: str = typer.Option(..., "--department", help="提出报表的部门，如 民政局"),
    title: str | None = typer.Option(None, "--title", help="报表名称（默认取草案的标题行）"),
    population: str | None = typer.Option(
        None,
        "--population",
        help="要填报的人群，如「救助类型=城市低保；年龄>=60」（不写则按全区居民估算）",
    ),
    period: str | None = typer.Option(
        None, "--period", help="周期：月报 / 季报 / 年报（不写则按标题判断）"
    ),
    by: str | None = typer.Option(None, "--by", help="提交人（默认当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """提出一张新报表：逐列说明库中已有（来源部门、时效、覆盖人数）、可推算或新增，估算有无 Hub 的填报量，
    列出与目录中报表的重复，并提交减负办审核。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    ctx.require_file(file)
    dept = reg.departments.resolve(department)
    if dept is None:
        ctx.fail(f"部门 {department!r} 不在部门登记表中（已登记：{reg.departments.names()}）")
    if period is not None and period not in PERIODS:
        ctx.fail(f"--period 只能是 月报、季报 或 年报（收到 {period}）")
    try:
        conditions = parse_population(population, reg) if population else None
        with ctx.steps(not as_json) as say:
            say(f"读取并分析 {file.name}")
            analysis = analyse_draft(
                s, reg, file, dept.name, title, conditions, PERIODS.get(period or "")
            )
    except (ReadError, PopulationError) as exc:
        ctx.fail(str(exc))
    who = by or f"{dept.name}：{getpass.getuser()}"
    req = file_proposal(s, analysis, file, who)
    if as_json:
        ctx.print_json({"id": req.id, "status": req.status, **analysis.to_json()})
        return
    print_analysis(analysis, reg)
    ctx.console.print(
        f"已提交报表准入申请 [bold]{req.id[:12]}[/]，等待减负办审核（hub proposal list）。"
    )


def print_analysis(a: Analysis, reg: Registry) -> None:
    rows = "—" if a.rows is None else f"{a.rows:,}"
    ctx.console.print(
        f"[bold]{a.department}《{a.title}》[/]（{PERIOD_LABEL[a.period]}）人群：{a.population_text}，"
        f"{rows} 人"
    )
    t = Table(title="逐列对照")
    for col in (
        "列",
        "表头",
        "判断",
        "标准字段",
        "权威部门（或来源）",
        "最新数据",
        "已有人数",
        "说明",
    ):
        t.add_column(col, overflow="fold")
    for i, c in enumerate(a.columns, 1):
        field = c.label or (c.proposed.label if c.proposed else "")
        if c.proposed:
            field = f"{c.proposed.name}（{TYPE_LABEL[c.proposed.type]}）"
        have = "" if c.have is None else f"{c.have:,}"
        t.add_row(
            f"第{i}列",
            c.header,
            STATUS_TEXT[c.status],
            field,
            "、".join(c.authority) or "、".join(c.sources) + "（取最新）" * bool(c.sources),
            c.fresh or "",
            have,
            "；".join(c.evidence[:2]),
        )
    ctx.console.print(t)
    counts = a.counts()
    ctx.console.print(
        f"已有 {counts['held']} 列，可推算 {counts['derivable']} 列，新增 {counts['new']} 列"
        f"（序号等自动生成 {counts['computed']} 列）"
    )
    w, h = a.cost["without_hub"], a.cost["with_hub"]
    ctx.console.print(
        f"没有 Hub：每期 {w['entries_per_period']:,} 项、每年 {w['entries_per_year']:,} 项，"
        f"新增报表 {w['forms']} 张、每年社区报送 {w['submissions_per_year']:,} 次、指标 {w['indicators']} 项"
    )
    ctx.console.print(
        f"经由 Hub：每期 {h['entries_per_period']:,} 项、每年 {h['entries_per_year']:,} 项，"
        f"新增报表 {h['forms']} 张、社区报送 {h['submissions_per_year']} 次、一张表新增指标 {h['indicators']} 项；"
        f"每期预填 {h['prefilled_per_period']:,} 项只需核对"
    )
    for o in a.overlaps[:5]:
        same = "" if o.same_people is None else f"，同一人群 {o.same_people:,} 人"
        ctx.console.print(f"· {o.text}（{o.department}{same}）：{'、'.join(o.shared)}")
    for n in a.notes:
        ctx.console.print(f"[dim]注：{n}[/]")


@app.command("list")
def list_proposals(
    open_only: bool = typer.Option(False, "--open", help="只列出待审的"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """列出报表准入申请：部门、报表、已有 / 新增列数、状态。"""
    s = ctx.settings()
    found = [r for r in proposals(s) if not open_only or r.status == "open"]
    if as_json:
        ctx.print_json([asdict(r) for r in found])
        return
    if not found:
        ctx.console.print("没有报表准入申请。")
        return
    t = Table(
        "编号", "部门", "报表", "已有", "可推算", "新增", "提交", "状态", title="报表准入申请"
    )
    for r in found:
        c = r.payload["analysis"]["counts"]
        t.add_row(
            r.id[:12],
            r.from_unit,
            r.subject,
            str(c["held"]),
            str(c["derivable"]),
            str(c["new"]),
            f"{r.by}，{r.at}",
            STATUS[r.status] if r.status != "open" else "待审",
        )
    ctx.console.print(t)


@app.command("show")
def show(
    proposal_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """查看一条申请的逐列对照、填报量估算与重复报表。"""
    s = ctx.settings()
    req = _find(s, proposal_id)
    if as_json:
        ctx.print_json(asdict(req))
        return
    a = req.payload["analysis"]
    ctx.console.print(
        f"[bold]{req.id[:12]}[/] {a['department']}《{a['title']}》：{STATUS.get(req.status, req.status)}"
    )
    for i, c in enumerate(a["columns"], 1):
        field = c.get("label") or ""
        if c.get("proposed"):
            p = c["proposed"]
            field = f"建议新增字段 {p['name']}（{p['label']}，{TYPE_LABEL[p['type']]}）"
        ctx.console.print(f"  第{i}列「{c['header']}」{STATUS_TEXT[c['status']]} {field}")
    for o in a["overlaps"][:5]:
        ctx.console.print(f"  · {o['text']}：{'、'.join(o['shared'])}")


@app.command("approve")
def approve_command(
    proposal_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    field: list[str] = typer.Option(
        [],
        "--field",
        metavar="表头=字段名",
        help="新增列的字段：表头=字段名[,中文名[,类型[,代码表]]]，类型为 文本、日期、整数、小数、"
        "是/否、代码，如 慢病种类=chronic_disease,慢病种类,文本",
    ),
    name: str | None = typer.Option(
        None, "--name", help="报表名（snake_case，默认由部门和标题生成）"
    ),
    why: str = typer.Option("", "--why", help="批准说明（记入目录：法律依据或用途）"),
    by: str | None = typer.Option(None, "--by", help="审核人（默认当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """批准：报表写入 schemas/reports/，新增列成为新字段（一张表只增加这些字段），下次 hub run 后即可生成。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    req = _find(s, proposal_id)
    edits = _edits(field)
    try:
        done = approve(s, reg, req, by or _admin(), why, edits, name)
    except (ProposalError, LookupError) as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(done)
        return
    added = "、".join(done["fields"]) or "无"
    ctx.console.print(
        f"已批准：报表 [bold]{done['report']}[/] 进入目录；新增字段 {added}；"
        f"一张表为它询问 {len(done['asks'])} 个字段。下次 hub run 后可用 hub report generate 生成。"
    )


@app.command("reject")
def reject_command(
    proposal_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    why: str = typer.Option(..., "--why", help="驳回原因（必填）"),
    by: str | None = typer.Option(None, "--by", help="审核人（默认当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """驳回申请，写明原因。"""
    s = ctx.settings()
    req = _find(s, proposal_id)
    try:
        done = reject(s, req, by or _admin(), why)
    except (ProposalError, LookupError) as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(asdict(done))
        return
    ctx.console.print(f"已驳回《{done.subject}》：{why}")


@app.command("share")
def share_command(
    proposal_id: str = typer.Argument(..., metavar="编号", help="申请编号（可只写前几位）"),
    why: str = typer.Option("", "--why", help="说明"),
    by: str | None = typer.Option(None, "--by", help="审核人（默认当前系统用户）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """改为共享：每个字段库中都已有时，不下发报表，改为给该部门一个共享授权（辖区与人群同申请，一年有效）。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    req = _find(s, proposal_id)
    try:
        done = share_instead(s, reg, req, by or _admin(), why)
    except (ProposalError, LookupError) as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(done)
        return
    ctx.console.print(
        f"已改为共享：授权 [bold]{done['share']}[/]（{len(done['fields'])} 个字段，有效至 {done['expires']}）；"
        "下次 hub run 发布后，该部门可用 hub query 或接口查询。"
    )


def _find(s: Any, prefix: str) -> Any:
    try:
        return find_proposal(s, prefix)
    except LookupError as exc:
        ctx.fail(str(exc))


def _admin() -> str:
    return f"减负办：{getpass.getuser()}"


def _edits(specs: list[str]) -> dict[str, FieldEdit]:
    out = {}
    for spec in specs:
        header, eq, rest = spec.partition("=")
        parts = [p.strip() for p in rest.replace("，", ",").split(",")]
        if not eq or not header.strip() or not parts[0]:
            ctx.fail(f"--field 应写作 表头=字段名[,中文名[,类型[,代码表]]]（收到 {spec!r}）")
        parts += [""] * (4 - len(parts))
        parts[2] = TYPE_NAMES.get(parts[2], parts[2])
        out[header.strip()] = FieldEdit(*(p or None for p in parts[:4]))
    return out
