"""`hub`: sample data, run the pipeline, see its status, benchmark it."""

from __future__ import annotations

import resource
import shutil
from pathlib import Path

import typer

from hub.city.districts import is_city
from hub.cli import batch as batch_cli
from hub.cli import bench as bench_cli
from hub.cli import city as city_cli
from hub.cli import codes as codes_cli
from hub.cli import context as ctx
from hub.cli import corrections as corrections_cli
from hub.cli import form as form_cli
from hub.cli import orgunits as orgunits_cli
from hub.cli import proposals as proposals_cli
from hub.cli import reports as reports_cli
from hub.cli import requests as requests_cli
from hub.cli import review as review_cli
from hub.cli import serve as serve_cli
from hub.cli import share as share_cli
from hub.cli import source as source_cli
from hub.cli import zh
from hub.cli.render import print_run, print_status, summary_json
from hub.deploy import InitError, init_deployment
from hub.pipeline import run_pipeline, step_count
from hub.publish.snapshot import rollback
from hub.run_lock import RunInProgress
from hub.sample import generate_sample
from hub.sample.adversity import Adversity
from hub.settings import private_files
from hub.status import status as read_status

app = typer.Typer(
    help="一张表 Hub：部门表格只报一次，归集为一人一档。",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(source_cli.app, name="source")
app.add_typer(batch_cli.app, name="batch")
app.add_typer(codes_cli.app, name="codes")
app.add_typer(orgunits_cli.app, name="orgunits")
app.add_typer(requests_cli.app, name="request")
app.add_typer(bench_cli.app, name="bench")
app.add_typer(city_cli.app, name="city")
app.add_typer(review_cli.app, name="review")
app.add_typer(form_cli.app, name="form")
reports_cli.app.command("list")(proposals_cli.list_command)
reports_cli.app.command("propose")(proposals_cli.propose_command)
app.add_typer(reports_cli.app, name="report")
app.add_typer(proposals_cli.app, name="proposal")
app.add_typer(corrections_cli.app, name="corrections")
app.command("burden")(reports_cli.burden_command)
app.add_typer(serve_cli.users, name="user")
app.command("serve")(serve_cli.serve_command)
app.command("query")(share_cli.query_command)
app.command("audit")(share_cli.audit_command)
app.add_typer(share_cli.tokens, name="token")


@app.command()
def init(
    folder: Path = typer.Argument(..., metavar="目录", help="新部署的目录（不存在则创建）"),
    district: str = typer.Option(..., "--district", help="区县代码（GB/T 2260 六位，如 650105）"),
    name: str = typer.Option(..., "--name", help="区县名称，如 沙依巴克区"),
    province: str = typer.Option(
        "", "--province", help="省（自治区、直辖市），如 新疆维吾尔自治区"
    ),
    city: str = typer.Option("", "--city", help="地级市，如 乌鲁木齐市"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """为一个新区县建立部署：通用登记表、空的 data/ 和 Dagster 工作区，不含样例来源和授权。"""
    try:
        dep = init_deployment(folder.resolve(), district, name, province, city)
    except InitError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json(
            {
                "folder": str(dep.root),
                "district": dep.district,
                "name": dep.name,
                "existed": dep.existed,
                "written": [str(p.relative_to(dep.root)) for p in dep.written],
            }
        )
        return
    if dep.name != name.strip():
        ctx.console.print(f"[yellow]区县名称沿用部署中已有的「{dep.name}」（未改为「{name}」）[/]")
    verb = "已补全" if dep.existed else "已建立"
    ctx.console.print(
        f"{verb}{dep.name}（{dep.district}）的部署：{dep.root}（写入 {len(dep.written)} 个文件）"
    )
    ctx.console.print(
        "下一步：cd 到该目录，hub orgunits import 统计用区划代码表.xlsx，"
        "再对每个部门文件 hub source add 文件 --department 部门，然后 hub run"
    )


@app.command()
def sample(
    residents: int = typer.Option(1000, "--residents", "-n", help="居民人数"),
    seed: int = typer.Option(7, "--seed", help="随机种子（相同种子生成相同数据）"),
    out: Path | None = typer.Option(
        None, "--out", help="输出目录（默认：待加载目录 data/incoming）"
    ),
    adversarial: bool = typer.Option(
        False,
        "--adversarial",
        help="加入真实文件中的难题：户籍表自身的错号、户籍表缺人、无街道社区的地址、"
        "只有年份或年月的出生日期、成员行填户主身份证号、双胞胎",
    ),
) -> None:
    """生成样例区县的各部门导出表（含真实世界的格式差异与错误），以及用于评分的真值。"""
    if residents < 1:
        ctx.fail(f"居民人数至少为 1（收到 {residents}）")
    s = ctx.settings()
    reg = ctx.registry(s)
    if not reg.orgs.communities:
        ctx.fail(
            f"{reg.orgs.district.name}还没有街道和社区：先用 hub orgunits import 统计用区划代码表 导入，"
            "样例居民才有社区可住"
        )
    files_dir = out or s.incoming
    truth = (out / "truth") if out else s.truth
    with ctx.steps() as say:
        result = generate_sample(
            reg,
            files_dir,
            truth,
            residents=residents,
            seed=seed,
            progress=lambda f: say(f"生成 {f}"),
            adversity=Adversity.hostile() if adversarial else None,
        )
    ctx.console.print(
        f"已生成 {result.residents} 位居民、{len(result.files)} 个部门文件、"
        f"{result.rows} 行（其中 {result.errors} 行含错误）→ {files_dir}"
    )


@app.command()
def run(
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果"),
    no_gx: bool = typer.Option(False, "--no-gx", help="跳过 Great Expectations 表级校验"),
    full: bool = typer.Option(
        False, "--full", help="从原始层重建全部（默认只处理上次以来新增或变更的部分）"
    ),
    district: str = typer.Option(
        "",
        "--district",
        help="城市部署：只运行这个区县（6 位代码）；不给则运行全部区县再合并全市视图",
    ),
) -> None:
    """运行全部流程：加载新文件 → 规范化与校验 → 一人一档 → 发布快照。"""
    s = ctx.settings()
    if district:
        s = city_cli.one_district(s, district)
    elif s.scope:  # HUB_DISTRICT=city: the city view is built by hub run / hub city build
        ctx.fail(
            "HUB_DISTRICT=city 指全市视图：运行全部区县请去掉 HUB_DISTRICT，只合并全市视图用 hub city build"
        )
    elif is_city(s):
        city_cli.run_all(s, as_json, not no_gx, full)
        return
    reg = ctx.registry(s)
    try:
        with ctx.steps(not as_json, step_count(reg, not no_gx)) as say:
            summary = run_pipeline(s, reg, progress=say, validate_with_gx=not no_gx, full=full)
    except RunInProgress as exc:
        ctx.fail(str(exc), code=3)
    if as_json:
        doc = summary_json(summary)
        doc["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        ctx.print_json(doc)
    else:
        print_run(summary, read_status(s, reg))
    if any(r.status == "rejected" for r in summary.loads) or summary.blocked:
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """演示：取随附的样例数据，运行全部流程并打印汇总。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    files = sorted(p for p in s.sample.glob("*") if p.suffix in (".csv", ".xlsx"))
    if not files:
        generate_sample(reg, s.sample, s.sample / "truth")
        files = sorted(p for p in s.sample.glob("*") if p.suffix in (".csv", ".xlsx"))
    s.ensure()
    for f in files:
        shutil.copy2(f, s.incoming / f.name)
    ctx.console.print(f"已将 {len(files)} 个样例文件放入待加载目录 {s.incoming}")
    with ctx.steps(total=step_count(reg)) as say:
        summary = run_pipeline(s, reg, progress=say)
    print_run(summary, read_status(s, reg))
    if summary.published is not None:
        reports_cli.print_demo_reports(s, reg)


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """查看各来源的批次、行数、隔离情况，居民数与最新发布版本。"""
    s = ctx.settings()
    doc = read_status(s, ctx.registry(s))
    if as_json:
        ctx.print_json(doc)
    else:
        print_status(doc)


@app.command("rollback")
def rollback_cmd(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """把发布指针切回上一个版本（文件从不删除）。"""
    s = ctx.settings()
    try:
        doc = rollback(s.published)
    except ValueError as exc:
        ctx.fail(str(exc))
    if as_json:
        ctx.print_json({"release": doc["release"], "published_at": doc["published_at"]})
        return
    ctx.console.print(f"已回退到第 {doc['release']} 版发布。")


def main() -> None:
    """The `hub` command, in Chinese down to the framework's own text."""
    private_files()  # the warehouse, snapshots, reports and archive hold residents' data
    try:
        zh.run(app)
    except RunInProgress as exc:  # any command that met a run holding the warehouse
        ctx.err_console.print(f"[bold red]错误：[/]{exc}", soft_wrap=True)
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()
