"""`hub report generate` and `hub burden`: department reports from the golden records."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.registry import Registry
from hub.reports.build import Period
from hub.reports.burden import burden as compute_burden
from hub.reports.flowback import flow_back
from hub.reports.generate import generate_reports, open_published_person
from hub.settings import Settings
from hub.share.audit import answered_by_department

app = typer.Typer(
    help="部门报表：由一人一档数据自动生成；报表目录与报表准入申请。", no_args_is_help=True
)
PERIOD_HELP = "报告期 YYYY-MM（默认本月）"


def _period(text: str | None) -> Period:
    try:
        return Period.parse(text) if text else Period.of(date.today())
    except ValueError as exc:
        ctx.fail(str(exc))


@app.command("generate")
def generate(
    period: str | None = typer.Option(None, "--period", help=PERIOD_HELP),
    department: str | None = typer.Option(
        None, "--department", help="只生成该部门（或该报表）的报表"
    ),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """按各部门自己的格式（标题行、表头、合计行）生成 XLSX 和 CSV，写入 data/reports/。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    try:
        results = generate_reports(s, reg, _period(period), department)
    except (FileNotFoundError, LookupError) as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json([r.__dict__ for r in results])
        return
    t = Table(
        title=f"已生成报表（第 {results[0].release} 版发布数据）" if results else "已生成报表"
    )
    for col in ("部门", "报表", "报告期", "行数", "文件"):
        t.add_column(col)
    for r in results:
        t.add_row(r.department, r.title, r.period, str(r.rows), str(r.xlsx.relative_to(s.data)))
    ctx.console.print(t)


def burden_command(
    period: str | None = typer.Option(None, "--period", help=PERIOD_HELP),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """基层填报负担：各部门报表分别填写（之前）与一张表、预填已有数据（之后）的对比。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    with duckdb.connect() as con:
        try:
            open_published_person(con, s)
        except FileNotFoundError as exc:
            ctx.fail(str(exc))
        doc = compute_burden(con, reg, _period(period))
    answered = answered_by_department(s.audit, doc["period"])
    doc["requests_answered"] = {"total": sum(answered.values()), "by_department": answered}
    doc["flow_back"] = flow_back(s, reg, _period(period))
    if as_json:
        ctx.print_json(doc)
        return
    print_burden(doc)


def print_burden(doc: dict[str, Any]) -> None:
    t = Table(title=f"各部门报表（{doc['period']}）")
    for col in ("部门", "报表", "周期", "字段数", "行数", "每月填报项"):
        t.add_column(col, justify="left" if col in ("部门", "报表", "周期") else "right")
    label = {"monthly": "月报", "quarterly": "季报", "yearly": "年报"}
    for r in doc["reports"]:
        t.add_row(
            r["department"],
            r["title"],
            label[r["period"]],
            str(r["fields"]),
            str(r["rows"]),
            f"{r['entries_per_month']:,.0f}",
        )
    ctx.console.print(t)
    e, f = doc["entries_per_month"], doc["fields_asked"]
    ctx.console.print(
        f"字段：各报表合计要问 [bold]{f['before']}[/] 个，合并成一张表后 [bold]{f['after']}[/] 个。"
    )
    ctx.console.print(
        f"每月填报项：分别填报 [bold]{e['before']:,.0f}[/] 项 → 一张表每人每项只填一次 "
        f"{e['after_each_field_once']:,.0f} 项 → 再扣除已从部门数据预填的，只剩 [bold]{e['after']:,.0f}[/] 项，"
        f"减少 [bold green]{doc['reduction_percent']}%[/]。"
    )
    req = doc.get("requests_answered")
    if req is not None:
        per = "、".join(f"{d} {n} 次" for d, n in sorted(req["by_department"].items())) or "尚无"
        ctx.console.print(
            f"本期由共享数据答复的数据需求：[bold]{req['total']}[/] 次（{per}）"
            "——每一次都少向基层下发一张表。"
        )
    fb = doc.get("flow_back")
    if fb is not None:
        t = Table(title=f"数据回流与纠错（{fb['period']}）")
        for col in ("社区", "回流居民", "预填项", "只需核对", "提交更正", "已确认更正"):
            t.add_column(col, justify="left" if col == "社区" else "right")
        for c in fb["communities"]:
            t.add_row(
                c["name"],
                *(
                    f"{c[k]:,}"
                    for k in (
                        "records_returned",
                        "fields_prefilled",
                        "fields_verified",
                        "corrections_filed",
                        "corrections_accepted",
                    )
                ),
            )
        ctx.console.print(t)
        p = fb["proposals"]
        ctx.console.print(
            f"报表准入：批准 {p['approved']} 张、驳回 {p['rejected']} 张、改为共享 {p['shared']} 张，"
            f"每年少填 [bold]{p['entries_per_year_avoided']:,}[/] 项。"
        )
    if doc["most_duplicated"]:
        top = "、".join(f"{d['label']}（{d['reports']} 张表）" for d in doc["most_duplicated"][:6])
        ctx.console.print(f"重复最多的字段：{top}")


def print_demo_reports(s: Settings, reg: Registry) -> None:
    """After the demo run: every report of this month written, and the burden it saves."""
    period = Period.of(date.today())
    results = generate_reports(s, reg, period)
    rows = sum(r.rows for r in results)
    ctx.console.print(
        f"已生成 {len(results)} 份部门报表（{period.key}，共 {rows} 行）→ {s.reports / period.key}"
    )
    with duckdb.connect() as con:
        open_published_person(con, s)
        doc = compute_burden(con, reg, period)
    e = doc["entries_per_month"]
    ctx.console.print(
        f"基层填报负担：每月 {e['before']:,.0f} 项 → {e['after']:,.0f} 项，"
        f"减少 [bold]{doc['reduction_percent']}%[/]（详见 hub burden）"
    )
