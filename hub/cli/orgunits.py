"""`hub orgunits`: the district's streets, communities and grids from its own list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from hub.atomic import write_text
from hub.cli import context as ctx
from hub.ingest.orgunits import OrgDiff, diff_trees, read_orgunits, tree_yaml
from hub.ingest.read import ReadError
from hub.registry.loader import Registry
from hub.settings import Settings
from hub.warehouse import table_exists, warehouse
from hub.web.accounts import load_staff

app = typer.Typer(
    help="行政区划：从统计用区划代码表导入本区县的街道、社区（村）和网格。", no_args_is_help=True
)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., metavar="文件", help="统计用区划代码表（CSV 或 XLSX）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只报告变化，不写入"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """导入统计用区划代码表（12 位：区县 6 + 街道 3 + 社区 3；网格 15 位），写入 orgunits.yaml。

    再次导入会报告新增、改名和撤销的单位；仍指向撤销单位的授权须先修改，工作人员账号列为待处理。
    """
    ctx.require_file(file)
    s = ctx.settings()
    reg = ctx.registry(s)
    try:
        got = read_orgunits(file, reg.orgs, reg.limits)
    except ReadError as exc:
        ctx.fail(str(exc))
    diff = diff_trees(reg.orgs, got.tree)
    blocking, to_fix, residents = _effects(s, reg, diff)
    written = not dry_run and not blocking
    if written:
        write_text(s.schemas / "orgunits.yaml", tree_yaml(got.tree, file.name))
    doc: dict[str, Any] = {
        "file": file.name,
        "district": {"code": got.tree.district.code, "name": got.tree.district.name},
        "rows": got.rows,
        "streets": len(got.tree.streets),
        "communities": len(got.tree.communities),
        "grids": sum(len(c.grids) for c in got.tree.communities),
        "other_district_rows": got.other_district,
        "added": [c.as_dict() for c in diff.added],
        "renamed": [c.as_dict() for c in diff.renamed],
        "removed": [c.as_dict() for c in diff.removed],
        "row_errors": got.errors,
        "errors": blocking + to_fix,
        "residents_with_removed_codes": residents,
        "written": written,
    }
    if as_json:
        ctx.print_json(doc)
    else:
        _print(doc, diff, blocking, dry_run)
    if blocking or to_fix or got.errors:
        raise typer.Exit(1)


def _effects(s: Settings, reg: Registry, diff: OrgDiff) -> tuple[list[str], list[str], int]:
    """Grants that name a removed unit (the import waits for them), staff accounts serving one
    (to fix), and residents whose records still carry one (they keep it, with a warning)."""
    gone = diff.removed_codes
    if not gone:
        return [], [], 0
    blocking = [
        f"授权 schemas/shares/{sh.name}.yaml 的 rows.jurisdiction 含已撤销的单位 "
        f"{'、'.join(sorted(set(sh.rows.jurisdiction) & gone))}：请先修改该授权再导入"
        for sh in reg.shares.values()
        if set(sh.rows.jurisdiction) & gone
    ]
    offices = {d.name for d in reg.departments.departments if d.kind == "街道" and d.code in gone}
    for kind, folder, items in (
        ("来源", "sources", reg.sources.values()),
        ("报表", "reports", reg.reports.values()),
        ("授权", "shares", reg.shares.values()),
    ):
        blocking += [
            f"{kind} schemas/{folder}/{x.name}.yaml 的 department 是已撤销的 {x.department}："
            "请先把它改为接替的街道（或删除该登记）再导入"
            for x in items
            if x.department in offices
        ]
    to_fix = [
        f"工作人员账号 {u.username}（{u.display_name}）服务的社区 {u.community} 已撤销：请改派社区"
        for u in load_staff(s.users).values()
        if u.community in gone
    ]
    residents = 0
    if s.warehouse.exists():
        with warehouse(s.warehouse, read_only=True, resources=s.resources) as con:
            if table_exists(con, "core", "person"):
                row = con.execute(
                    "SELECT count(*) FROM core.person WHERE community_code IN "
                    "(SELECT unnest(?::VARCHAR[]))",
                    [sorted(gone)],
                ).fetchone()
                residents = int(row[0]) if row else 0
    return blocking, to_fix, residents


def _print(doc: dict[str, Any], diff: OrgDiff, blocking: list[str], dry_run: bool) -> None:
    d = doc["district"]
    ctx.console.print(
        f"{doc['file']}：{d['name']}（{d['code']}）{doc['streets']} 个街道/乡镇、"
        f"{doc['communities']} 个社区/村、{doc['grids']} 个网格"
        + (
            f"；其他区县的 {doc['other_district_rows']} 行未导入"
            if doc["other_district_rows"]
            else ""
        )
    )
    changes = [("新增", c) for c in diff.added] + [("改名", c) for c in diff.renamed]
    changes += [("撤销", c) for c in diff.removed]
    if changes:
        t = Table("变化", "级别", "代码", "名称", "原名称", title="与现有区划相比")
        for kind, c in changes:
            t.add_row(kind, c.level, c.code, c.name, c.old_name or "")
        ctx.console.print(t)
    for e in doc["row_errors"]:
        ctx.err_console.print(f"[yellow]未导入：[/]{e}", soft_wrap=True)
    if doc["residents_with_removed_codes"]:
        ctx.err_console.print(
            f"[yellow]提醒：[/]{doc['residents_with_removed_codes']} 位居民的所属社区是已撤销的"
            "单位，他们的档案保留原代码，请在社区一张表中更新"
        )
    for e in doc["errors"]:
        ctx.err_console.print(f"[bold red]需处理：[/]{e}", soft_wrap=True)
    if blocking:
        ctx.err_console.print("未写入 orgunits.yaml。")
    elif dry_run:
        ctx.console.print("（--dry-run：未写入）")
    else:
        ctx.console.print("已写入 schemas/orgunits.yaml，下次 hub run 起生效。")
