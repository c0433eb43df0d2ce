"""`hub bench`: figures for speed goals (printed, never asserted in unit tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from hub.cli import context as ctx

app = typer.Typer(
    help="基准测试：不带子命令时测完整流程；子命令测单项功能。",
    invoke_without_command=True,
)


def _out(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        ctx.print_json(doc)
    else:
        for k, v in doc.items():
            ctx.console.print(f"{k}: {v}")


@app.callback()
def pipeline(
    context: typer.Context,
    residents: int = typer.Option(200_000, "--residents", "-n", help="居民人数"),
    seed: int = typer.Option(7, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="工作目录（默认临时目录，结束后删除）"
    ),
) -> None:
    """生成 N 位居民的部门文件，单进程跑完整流程，并与 DuckDB 直接读取相比。"""
    if context.invoked_subcommand is not None:
        return
    from hub.bench import run_bench

    s = ctx.settings()
    progress = None if as_json else ctx.err_console.print
    _out(run_bench(s.schemas, residents, seed, workdir, progress=progress), as_json)


@app.command("scale")
def scale(
    residents: list[int] = typer.Option(
        [200_000, 2_000_000],
        "--residents",
        "-n",
        metavar="人数",
        help="居民人数（可重复，如 -n 200000 -n 2000000）",
    ),
    seed: int = typer.Option(7, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """在两种（或多种）规模上各跑一次完整流程，给出耗时与内存的增长倍数。"""
    from hub.bench import run_scale_bench

    if len(set(residents)) < 2:
        ctx.fail("请至少给出两个不同的 --residents，例如 -n 200000 -n 2000000")
    s = ctx.settings()
    progress = None if as_json else ctx.err_console.print
    _out(run_scale_bench(s.schemas, residents, seed, progress=progress), as_json)


@app.command("incremental")
def incremental(
    residents: int = typer.Option(200_000, "--residents", "-n", help="居民人数"),
    seed: int = typer.Option(7, "--seed"),
    edits: int = typer.Option(500, "--edits", help="社区表单修改条数"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """全量加载后来一个月的数据（低保全量名册、社区表单修改），测增量运行的耗时，并与全量重建比对结果。"""
    from hub.bench import run_incremental_bench

    s = ctx.settings()
    progress = None if as_json else ctx.err_console.print
    _out(run_incremental_bench(s.schemas, residents, seed, edits, progress=progress), as_json)


@app.command("suggest")
def suggest(
    rows: int = typer.Option(100_000, "--rows", help="被分析文件的行数"),
    seed: int = typer.Option(7, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """在 N 行的部门文件上测 hub source suggest 的耗时（CSV 与 XLSX）。"""
    from hub.bench import run_suggest_bench

    s = ctx.settings()
    progress = None if as_json else ctx.err_console.print
    _out(run_suggest_bench(s.schemas, rows, seed, progress=progress), as_json)


@app.command("linkage")
def linkage(
    records: int = typer.Option(200_000, "--records", help="部门记录条数（约 2.1 条 / 人）"),
    seed: int = typer.Option(7, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """同一批数据上比较 Hub 的关联与通用 Splink 模型：准确率、召回率、F1、耗时、峰值内存。"""
    from hub.link.bench import run_linkage_bench

    s = ctx.settings()
    if not as_json:
        ctx.err_console.print(f"生成约 {records} 条部门记录并分别运行 Hub 与基线模型…")
    _out(run_linkage_bench(s.schemas, records, seed), as_json)


@app.command("web")
def web(
    users: int = typer.Option(50, "--users", help="同时使用网页的工作人员数"),
    seconds: float = typer.Option(60, "--seconds", help="持续秒数"),
    think: float = typer.Option(10, "--think", help="每步操作之间的思考时间（秒）"),
    seed: int = typer.Option(7, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """多名工作人员同时查找、打开、保存（真实的 hub serve 与 HTTP 会话），其间反复运行 hub run：
    各操作耗时的 p50/p95/p99、错误数，以及确认过的提交是否全部保存并归集。"""
    from hub.bench_web import run_web_bench

    if users < 1 or seconds <= 0 or think < 0:
        ctx.fail("--users 至少为 1，--seconds 须大于 0，--think 不能为负数")
    s = ctx.settings()
    progress = None if as_json else ctx.err_console.print
    _out(run_web_bench(s.schemas, users, seconds, think, seed, progress=progress), as_json)


@app.command("districts")
def districts(
    count: int = typer.Option(4, "--districts", help="区县数"),
    per_district: int = typer.Option(300_000, "--residents-per-district", help="每个区县的居民数"),
    workers: list[int] = typer.Option(
        [1, 2], "--workers", metavar="个数", help="工作进程数（可重复，如 --workers 1 --workers 2）"
    ),
    seed: int = typer.Option(7, "--seed"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """一个生成的城市：各区县作为 Dagster 作业的步骤，在 1、2… 个 Celery 工作进程上运行
    （没有 redis-server 时用多进程执行器），给出耗时、加速比、各区县峰值内存与全市视图是否一致。"""
    from hub.bench_districts import run_districts_bench

    if count < 2 or per_district < 100 or not workers or min(workers) < 1:
        ctx.fail("--districts 至少为 2，--residents-per-district 至少为 100，--workers 至少为 1")
    s = ctx.settings()
    progress = None if as_json else ctx.err_console.print
    try:
        doc = run_districts_bench(s.schemas, count, per_district, workers, seed, progress)
    except RuntimeError as exc:
        ctx.fail(str(exc))
    _out(doc, as_json)
