"""`hub city …` and `hub run` in a city deployment (several districts, one city view)."""

from __future__ import annotations

import os
import resource
from typing import Any

import typer
from rich.table import Table

from hub.atomic import write_text
from hub.city.districts import DistrictError, district_codes, district_settings
from hub.city.run import CityRun, run_city
from hub.city.sample import city_sample
from hub.city.view import CityError, CityResult, build_city
from hub.cli import context as ctx
from hub.cli.render import summary_json
from hub.registry.files import DISTRICTS
from hub.settings import Settings

app = typer.Typer(help="城市部署：多个区县、全市视图。", no_args_is_help=True)


def whole_city(s: Settings) -> Settings:
    """`s` if it is the city deployment's own folder; a command for the whole city refuses
    settings narrowed to one district or to the city view (HUB_DISTRICT)."""
    if s.scope or s.schemas.parent.name == DISTRICTS:
        ctx.fail(
            "这条命令作用于整个城市部署：请不要设置 HUB_DISTRICT（只运行一个区县用 hub run --district 代码）"
        )
    return s


def one_district(s: Settings, code: str) -> Settings:
    """The settings of district `code`, or a Chinese error naming the districts there are."""
    whole_city(s)
    try:
        return district_settings(s, code.strip())
    except DistrictError as exc:
        ctx.fail(str(exc))


def run_all(s: Settings, as_json: bool, validate_with_gx: bool, full: bool) -> None:
    """Every district, one after another, then the city view (`hub run` in a city)."""
    whole_city(s)
    total = len(district_codes(s)) + 1
    with ctx.steps(not as_json, total) as say:
        got = run_city(s, say, validate_with_gx, full)
    if as_json:
        ctx.print_json(_run_json(got))
    else:
        _print_run(got)
    rejected = any(
        r.status == "rejected" for summary in got.districts.values() for r in summary.loads
    )
    blocked = any(summary.blocked for summary in got.districts.values())
    if got.failed or got.city_error or rejected or blocked:
        raise typer.Exit(1)


def city_json(c: CityResult) -> dict[str, Any]:
    return {
        "districts": c.districts,
        "missing": c.missing,
        "unreadable": c.unreadable,
        "persons": c.persons,
        "cross_district": c.cross_district,
        "conflicts": c.conflicts,
        "seconds": c.seconds,
        "release": c.published.release if c.published else None,
    }


def _run_json(got: CityRun) -> dict[str, Any]:
    return {
        "districts": {code: summary_json(s) for code, s in got.districts.items()},
        "failed": got.failed,
        "city": city_json(got.city) if got.city else None,
        "city_error": got.city_error,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _print_run(got: CityRun) -> None:
    t = Table(title="各区县运行结果")
    for col in ("区县", "加载文件", "被拒文件", "居民", "发布版本", "说明"):
        t.add_column(col)
    for code, s in got.districts.items():
        t.add_row(
            code,
            str(sum(1 for r in s.loads if r.status == "loaded")),
            str(sum(1 for r in s.loads if r.status == "rejected")),
            str(s.core.persons if s.core else "-"),
            str(s.published.release if s.published else "未发布"),
            "；".join(s.blocked) or "",
        )
    for code, why in got.failed.items():
        t.add_row(code, "-", "-", "-", "未发布", f"运行失败：{why}")
    ctx.console.print(t)
    if got.city:
        _print_city(got.city)
    else:
        ctx.console.print(f"[bold red]全市视图未生成：[/]{got.city_error}")


def _print_city(c: CityResult) -> None:
    missing = f"（未纳入：{'、'.join(c.missing)}）" if c.missing else ""
    for code, why in c.unreadable.items():
        ctx.err_console.print(f"[bold red]区县 {code}：[/]{why}", soft_wrap=True)
    ctx.console.print(
        f"全市视图：{c.persons:,} 人，其中跨区县 {c.cross_district:,} 人，"
        f"跨区县冲突 {c.conflicts:,} 人；第 {c.published.release if c.published else '-'} 版"
        f"{missing}，用时 {c.seconds:.1f} 秒"
    )


@app.command("build")
def build_command(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """只合并全市视图：读取各区县当前发布的数据，按公民身份号码合并后发布。"""
    try:
        got = build_city(whole_city(ctx.settings()))
    except CityError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(city_json(got))
    else:
        _print_city(got)


@app.command("sample")
def sample_command(
    districts: int = typer.Option(3, "--districts", help="区县数（2–8）"),
    residents: int = typer.Option(400, "--residents", help="每个区县的居民数"),
    movers: int = typer.Option(100, "--movers", help="每个区县中住着的邻区居民数"),
    seed: int = typer.Option(7, "--seed", help="随机种子"),
    error_rate: float = typer.Option(0.03, "--error-rate", help="注入错误的比例"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """生成一个样例城市：各区县的区划（schemas/districts/<代码>/）与部门文件（data/districts/<代码>/incoming/）。"""
    s = whole_city(ctx.settings())
    try:
        with ctx.steps(not as_json, districts) as say:
            got = city_sample(s, districts, residents, movers, seed, error_rate, say)
    except ValueError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(got.__dict__)
        return
    for code in got.districts:
        ctx.console.print(
            f"区县 {code}：{got.residents[code]:,} 名居民，另有 {got.movers[code]:,} 名邻区居民住在本区"
        )
    ctx.console.print(f"共 {got.rows:,} 行部门数据，运行 hub run 归集全部区县并生成全市视图。")


@app.command("worker")
def worker_command(
    broker: str = typer.Option(
        "",
        "--broker",
        help="消息代理（Redis）地址，如 redis://10.0.0.5:6379/0；默认取 HUB_CELERY_BROKER",
    ),
    districts: str = typer.Option(
        "", "--districts", help="本机持有文件的区县，逗号分隔（不写则为全部区县）"
    ),
    threads: int = typer.Option(0, "--threads", help="每个区县运行可用的线程数（默认全部核心）"),
    memory_mb: int = typer.Option(0, "--memory-mb", help="每个区县运行的内存上限（MB）"),
    name: str = typer.Option("", "--name", help="工作机名称（默认按区县命名）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只打印将要运行的命令"),
) -> None:
    """把本机作为全市 Dagster 运行的 Celery 工作机：只接本机持有文件的区县的步骤（及全市合并）。"""
    from hub.city.worker import WorkerError
    from hub.city.worker import worker_command as command_of

    s = whole_city(ctx.settings())
    if threads < 0 or memory_mb < 0:
        ctx.fail("--threads 与 --memory-mb 须为正整数（不写则用本机默认）")
    codes = [d.strip() for d in districts.replace("，", ",").split(",") if d.strip()]
    try:
        command, env = command_of(
            s, broker or os.environ.get("HUB_CELERY_BROKER", ""), codes, threads, memory_mb, name
        )
    except WorkerError as exc:
        ctx.fail(str(exc))
    if dry_run:
        ctx.console.print(" ".join(command), soft_wrap=True)
        return
    os.execve(command[0], command, env)  # noqa: S606 - our own interpreter running celery


@app.command("add")
def add_command(
    code: str = typer.Argument(..., metavar="区县代码", help="6 位 GB/T 2260 代码，如 650105"),
    name: str = typer.Option("", "--name", help="区县名称，如 沙依巴克区"),
    province: str = typer.Option("", "--province", help="省级名称"),
    city: str = typer.Option("", "--city", help="地级市名称"),
) -> None:
    """在城市部署中加入一个区县：写入它的空区划 schemas/districts/<代码>/orgunits.yaml 与数据目录。"""
    from hub.deploy import InitError, district_code, empty_tree

    s = whole_city(ctx.settings())
    try:
        code, name = district_code(code, name)
    except InitError as exc:
        ctx.fail(str(exc))
    tree = s.schemas / DISTRICTS / code / "orgunits.yaml"
    if tree.exists():
        ctx.console.print(f"区县 {code} 已在本部署中（{tree}），未改动。")
        return
    write_text(tree, empty_tree(code, name, province, city))
    district_settings(s, code).ensure()
    ctx.console.print(
        f"已加入区县 {name}（{code}）。下一步：HUB_DISTRICT={code} hub orgunits import 统计用区划代码表，"
        f"再把部门文件放入 {district_settings(s, code).incoming}"
    )
