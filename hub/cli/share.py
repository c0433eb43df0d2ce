"""`hub query`, `hub audit`, `hub token`: departments read shared data, every read is logged."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections import Counter
from datetime import date
from typing import Any

import pyarrow.parquet as pq
import typer
from rich.table import Table

from hub.cli import context as ctx
from hub.csv_safe import safe_cell
from hub.registry import Registry
from hub.settings import Settings
from hub.share.audit import entries, torn, verify
from hub.share.describe import describe_grant
from hub.share.guard import QueryRefused
from hub.share.query import QueryFailed, granted_tables, run_query
from hub.share.residents import person_id_of
from hub.share.tokens import Token, check_token, create_token, load_tokens, revoke_token

tokens = typer.Typer(help="部门接口令牌（只保存哈希，可吊销）。", no_args_is_help=True)


def query_command(
    sql: str | None = typer.Argument(
        None, metavar="SQL语句", help="一条只读 SELECT 语句（不写则列出本部门可查询的表）"
    ),
    department: str | None = typer.Option(
        None, "--as", help="部门（查看授权时用；查询数据时由令牌决定）"
    ),
    token_text: str | None = typer.Option(
        None, "--token", help="部门令牌（查询数据须用；也可设环境变量 HUB_TOKEN）"
    ),
    purpose: str = typer.Option("", "--purpose", help="查询用途（必填，记入访问日志）"),
    fmt: str = typer.Option("table", "--format", help="table | csv | json | parquet"),
    out: str | None = typer.Option(
        None, "--out", help="parquet 的输出文件（其他格式默认输出到屏幕）"
    ),
    user: str | None = typer.Option(None, "--user", help="查询人姓名（与令牌持有者一并记入日志）"),
    describe: str | None = typer.Option(
        None, "--describe", help="说明一个授权表：字段、中文名、打码、行范围、代码表"
    ),
    labels: bool = typer.Option(
        False, "--labels", help="代码字段旁附中文名称列（如 gender_label）"
    ),
) -> None:
    """在本部门被授权的数据上运行只读 SQL（字段、行、打码都按授权）；每次查询都记入访问日志。"""
    if fmt not in ("table", "csv", "json", "parquet"):
        ctx.fail(f"--format 只能是 table、csv、json 或 parquet（收到 {fmt}）")
    if fmt == "parquet" and not out:
        ctx.fail("parquet 格式须用 --out 指定输出文件")
    s = ctx.settings()
    reg = ctx.registry(s)
    department = reg.department_name(department) if department else None
    token = _token(s, token_text or os.environ.get("HUB_TOKEN"), department, sql is not None)
    dept = token.department if token else department
    if dept is None:
        ctx.fail("请用 --as 指定部门，或用 --token 提供部门令牌")
    if describe is not None or sql is None:
        _describe(reg, dept, describe, fmt == "json")
        return
    if token is None:  # _token has already refused a data query without one
        return
    holder = f"token:{token.id}（{token.name}）" + (f"，{user}" if user else "")
    try:
        result = run_query(s, reg, dept, sql, purpose, holder, labels=labels)
    except QueryFailed as exc:
        ctx.fail(f"查询出错：{exc}")
    except QueryRefused as exc:
        ctx.fail(f"查询被拒绝：{exc}")
    _print_table(result.table, fmt, out)


def _token(s: Settings, text: str | None, department: str | None, reading: bool) -> Token | None:
    """The department token a data query runs under (the API's check, the same log holder)."""
    if not text:
        if reading:
            ctx.fail(
                "查询数据须用部门令牌：hub token create --department 部门 --name 用途 创建后，"
                "用 --token 或环境变量 HUB_TOKEN 提供"
            )
        return None
    token, why = check_token(s.tokens, text)
    if token is None:
        ctx.fail(f"令牌无效：{why}")
    if department and department != token.department:  # both in the registry's spelling
        ctx.fail(f"令牌属于{token.department}，不能以{department}的身份查询")
    return token


def _describe(reg: Registry, department: str, name: str | None, as_json: bool) -> None:
    """The department's grants (or one of them) as the API's /datasets shows them."""
    try:
        tables = granted_tables(reg, department, date.today())
    except QueryRefused as exc:
        ctx.fail(str(exc))
    if name is not None and name not in tables:
        ctx.fail(f"表 {name} 未授权给{department}（可查询：{', '.join(sorted(tables)) or '无'}）")
    docs = [describe_grant(reg, reg.shares[t]) for t in ([name] if name else sorted(tables))]
    if as_json:
        ctx.print_json(docs[0] if name else docs)
        return
    for doc in docs:
        ctx.console.print(
            f"[bold]{doc['name']}[/]（{doc['title']}，{doc['share_type']}，到期 {doc['expires'] or '长期'}）"
        )
        ctx.console.print(f"  用途：{doc['purpose']}")
        ctx.console.print(f"  行范围：{doc['rows']['text']}")
        if not name:
            continue
        t = Table("字段", "中文名", "类型", "打码", "代码（中文名列）")
        for f in doc["fields"]:
            codes = f["codelist"]
            listed = (
                "、".join(f"{c['code']}={c['label']}" for c in codes["codes"][:8]) if codes else ""
            )
            more = f" 等 {len(codes['codes'])} 项" if codes and len(codes["codes"]) > 8 else ""
            where = f"（{f['label_column']}）" if f["label_column"] else ""
            t.add_row(
                f["name"], f["label"], f["type"], f["mask"] or "不打码", listed + more + where
            )
        ctx.console.print(t)
    if not name:
        ctx.console.print("用 --describe 表名 查看字段、打码和代码表。")


def _print_table(table: Any, fmt: str, out: str | None) -> None:
    if fmt == "parquet":
        pq.write_table(table, out)
        ctx.err_console.print(f"已写出 {table.num_rows} 行 → {out}")
    elif fmt == "json":
        ctx.print_json(table.to_pylist())
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(table.column_names)
        for row in table.to_pylist():
            w.writerow([safe_cell(v) for v in row.values()])
        sys.stdout.write(buf.getvalue())
    else:
        t = Table()
        for name in table.column_names:
            t.add_column(name, overflow="fold")
        for row in table.to_pylist():
            t.add_row(*("" if v is None else str(v) for v in row.values()))
        ctx.console.print(t)
        ctx.console.print(f"{table.num_rows} 行（已记入访问日志）")


def audit_command(
    resident: str | None = typer.Option(
        None, "--resident", help="公民身份号码：谁、何时、为何查看过此人"
    ),
    department: str | None = typer.Option(None, "--department", help="汇总一个部门的查询"),
    check: bool = typer.Option(False, "--verify", help="校验日志的校验链是否完整"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """查看访问日志：不带选项时汇总全部访问；或某位居民的数据被谁查看过、某个部门的查询。"""
    s = ctx.settings()
    if check:
        n, problem = verify(s)
        unfinished = torn(s)
        if as_json:
            doc = {"entries": n, "intact": problem is None, "problem": problem}
            ctx.print_json(doc | {"torn": unfinished})
        elif problem:
            ctx.err_console.print(f"[bold red]访问日志已被改动：[/]{problem}")
        else:
            ctx.console.print(f"访问日志完整：{n} 条，校验链无断点。")
            if unfinished:
                ctx.console.print(
                    f"另有 {unfinished} 行因进程中断未写完，已另存为 access.torn-*.txt"
                    "（那次查询没有返回结果）。"
                )
        if problem:
            raise typer.Exit(1)
        return
    if resident:
        _resident(s, resident, as_json)
    elif department:
        # 卫健委 and 卫生健康局 are one department: the log records the registry's name
        dept = ctx.registry(s).departments.resolve(department)
        _department(s, dept.name if dept else department, as_json)
    else:
        _summary(s, as_json)


def _summary(s: Settings, as_json: bool) -> None:
    """The whole log at a glance: reads and refusals per department, the chain's state."""
    log = list(entries(s.audit))
    _, problem = verify(s)
    by_dept: dict[str, dict[str, int]] = {}
    for e in log:
        d = by_dept.setdefault(e["department"], {"reads": 0, "refused": 0, "residents": 0})
        d["reads" if e["status"] == "ok" else "refused"] += 1
    for dept, d in by_dept.items():
        d["residents"] = len({p for e in log if e["department"] == dept for p in e["persons"]})
    doc = {
        "entries": len(log),
        "intact": problem is None,
        "problem": problem,
        "first": log[0]["at"] if log else None,
        "last": log[-1]["at"] if log else None,
        "by_department": by_dept,
    }
    if as_json:
        ctx.print_json(doc)
        return
    if not log:
        ctx.console.print("访问日志为空：还没有部门查询过共享数据。")
        return
    state = "完整" if problem is None else f"[bold red]已被改动：{problem}[/]"
    ctx.console.print(
        f"访问日志：{len(log)} 条（{doc['first']} 至 {doc['last']}），校验链{state}。"
    )
    t = Table("部门", "查询", "被拒绝", "涉及居民", title="各部门的访问")
    for dept, d in sorted(by_dept.items()):
        t.add_row(dept, str(d["reads"]), str(d["refused"]), str(d["residents"]))
    ctx.console.print(t)
    ctx.console.print(
        "查看某位居民被谁查看过：hub audit --resident 公民身份号码；某个部门：--department 部门。"
    )


def _resident(s: Settings, citizen_id: str, as_json: bool) -> None:
    try:
        pid = person_id_of(s, citizen_id)
    except FileNotFoundError as exc:
        ctx.fail(str(exc))
    rows = [
        {k: e[k] for k in ("at", "department", "user", "channel", "purpose", "tables", "fields")}
        for e in entries(s.audit)
        if pid and e["status"] == "ok" and pid in e["persons"]
    ]
    if as_json:
        ctx.print_json({"resident": citizen_id, "accesses": rows})
        return
    if not rows:
        ctx.console.print("没有部门查看过此人的数据。")
        return
    t = Table("时间", "部门", "查询人", "渠道", "用途", "查看的字段", title="谁查看过此人的数据")
    for r in rows:
        t.add_row(
            r["at"], r["department"], r["user"], r["channel"], r["purpose"], "、".join(r["fields"])
        )
    ctx.console.print(t)


def _department(s: Settings, department: str, as_json: bool) -> None:
    mine = [e for e in entries(s.audit) if e["department"] == department]
    ok = [e for e in mine if e["status"] == "ok"]
    doc = {
        "department": department,
        "reads": len(ok),
        "refused": len(mine) - len(ok),
        "rows": sum(e["rows"] for e in ok),
        "residents": len({p for e in ok for p in e["persons"]}),
        "by_table": dict(Counter(t for e in ok for t in e["tables"])),
        "by_purpose": dict(Counter(e["purpose"] for e in ok)),
        "last": [
            {k: e[k] for k in ("at", "user", "channel", "status", "purpose", "rows", "reason")}
            for e in mine[-10:]
        ],
    }
    if as_json:
        ctx.print_json(doc)
        return
    ctx.console.print(
        f"{department}：查询 {doc['reads']} 次（被拒绝 {doc['refused']} 次），读取 {doc['rows']} 行，"
        f"涉及 {doc['residents']} 位居民。"
    )
    for name, n in doc["by_table"].items():
        ctx.console.print(f"  表 {name}：{n} 次")
    for purpose, n in doc["by_purpose"].items():
        ctx.console.print(f"  用途「{purpose}」：{n} 次")


@tokens.command("create")
def token_create(
    department: str = typer.Option(..., "--department", help="令牌所属部门"),
    name: str = typer.Option(..., "--name", help="用途或使用系统的名称"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（含令牌，只显示这一次）"),
) -> None:
    """为部门创建接口令牌（只显示这一次）。"""
    s = ctx.settings()
    reg = ctx.registry(s)
    department = reg.department_name(department)
    if department not in {sh.department for sh in reg.shares.values()}:
        ctx.fail(f"部门「{department}」没有任何共享授权（见 schemas/shares/）")
    token, text = create_token(s.tokens, department, name)
    if as_json:
        ctx.print_json({"id": token.id, "department": department, "name": name, "token": text})
        return
    ctx.err_console.print(
        f"已创建令牌 {token.id}（{department}，{name}）。请妥善保存，只显示这一次："
    )
    sys.stdout.write(text + "\n")


@tokens.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(..., metavar="令牌编号", help="令牌编号"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """吊销令牌：之后用它的请求一律拒绝。"""
    try:
        t = revoke_token(ctx.settings().tokens, token_id)
    except KeyError as exc:
        ctx.fail(str(exc.args[0]))
    if as_json:
        ctx.print_json({k: v for k, v in t.__dict__.items() if k != "secret_sha256"})
        return
    ctx.console.print(f"已吊销令牌 {t.id}（{t.department}，{t.name}）")


@tokens.command("list")
def token_list(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出令牌（不含密钥）。"""
    rows = [
        {k: v for k, v in t.__dict__.items() if k != "secret_sha256"}
        for t in load_tokens(ctx.settings().tokens).values()
    ]
    if as_json:
        ctx.print_json(rows)
        return
    for r in rows:
        state = f"已吊销 {r['revoked_at']}" if r["revoked_at"] else "有效"
        ctx.console.print(f"{r['id']}\t{r['department']}\t{r['name']}\t{state}")
