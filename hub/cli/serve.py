"""`hub serve` and `hub user`: the staff web app and its accounts."""

from __future__ import annotations

import getpass
import re
import sys
from dataclasses import replace

import typer

from hub.cli import context as ctx
from hub.web.accounts import ROLES, add_staff, load_staff

USERNAME = re.compile(r"[\w.\-]{2,32}")
users = typer.Typer(
    help="账号：社区工作人员、部门用户、减负办（密码只存哈希，保存在 data/users.json）。",
    no_args_is_help=True,
)
ROLE_NAMES = {"社区": "community", "部门": "department", "减负办": "admin"} | {r: r for r in ROLES}


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
    port: int = typer.Option(8000, "--port", help="端口"),
    public_url: str = typer.Option(
        "", "--public-url", help="工作人员访问的地址（https 时登录凭据只经加密连接发送）"
    ),
) -> None:
    """启动社区一张表网页（工作人员登录后查找、填报本社区居民）。"""
    import uvicorn

    from hub.web.app import create_app

    s = ctx.settings()
    if public_url:
        s = replace(s, public_url=public_url)
    ctx.registry(s)  # a broken registry is reported before the server starts
    s.ensure()
    ctx.console.print(f"社区一张表：http://{host}:{port}/ （Ctrl+C 停止）")
    uvicorn.run(create_app(s), host=host, port=port, log_level="warning")


@users.command("add")
def add(
    username: str = typer.Argument(..., metavar="登录名", help="登录名"),
    community: str = typer.Option("", "--community", help="所服务的社区代码（社区工作人员必填）"),
    role: str = typer.Option(
        "社区", "--role", help="角色：社区（社区工作人员）、部门（部门用户）、减负办（管理员）"
    ),
    department: str = typer.Option("", "--department", help="部门用户所属部门，如 民政局"),
    name: str = typer.Option("", "--name", help="显示的姓名"),
    password: str | None = typer.Option(
        None, "--password", help="密码（不填则提示输入；脚本中可用环境变量 HUB_PASSWORD）"
    ),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """新增或重置一个账号：社区工作人员、部门用户或减负办管理员。"""
    import os

    s = ctx.settings()
    reg = ctx.registry(s)
    if not USERNAME.fullmatch(username):
        ctx.fail(
            f"登录名 {username!r} 无效：应为 2–32 位字母、数字、汉字、点、下划线或连字符，不含空格"
        )
    code = ROLE_NAMES.get(role.strip())
    if code is None:
        ctx.fail(f"角色 {role!r} 无效（可选：社区、部门、减负办）")
    if code == "community" and community not in {c.code for c in reg.orgs.communities}:
        ctx.fail(
            f"没有社区代码 {community!r}（见 schemas/orgunits.yaml；社区工作人员须用 --community）"
        )
    if code != "community" and community:
        ctx.fail("只有社区工作人员才有所属社区：部门用户和减负办不用 --community")
    dept = reg.departments.resolve(department) if department else None
    if code == "department" and dept is None:
        ctx.fail(f"部门用户须用 --department 指定已登记的部门（已登记：{reg.departments.names()}）")
    if code != "department" and department:
        ctx.fail("只有部门用户才有所属部门")
    pw = password or os.environ.get("HUB_PASSWORD") or _ask_password()
    if len(pw) < 8:
        ctx.fail("密码至少 8 位")
    user = add_staff(s.users, username, community, pw, name, code, dept.name if dept else "")
    if as_json:
        ctx.print_json(
            {
                "username": username,
                "role": code,
                "community": community,
                "department": user.department,
                "name": user.display_name,
            }
        )
        return
    unit = {"community": f"社区 {community}", "department": user.department, "admin": "减负办"}
    ctx.console.print(f"已保存账号 {username}（{ROLES[code]}，{unit[code]}）")


def _ask_password() -> str:
    if not sys.stdin.isatty():  # getpass would fall back to an echoing prompt with a warning
        ctx.fail("没有可输入密码的终端：请用 --password 或环境变量 HUB_PASSWORD 提供密码")
    return getpass.getpass("密码：")


@users.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出账号（不含密码）。"""
    staff = load_staff(ctx.settings().users)
    rows = [
        {
            "username": u.username,
            "role": u.role,
            "community": u.community,
            "department": u.department,
            "name": u.display_name,
        }
        for u in staff.values()
    ]
    if as_json:
        ctx.print_json(rows)
        return
    for r in rows:
        unit = r["community"] or r["department"] or "减负办"
        ctx.console.print(f"{r['username']}\t{ROLES[r['role']]}\t{unit}\t{r['name']}")
    if not rows:
        ctx.console.print("尚无账号：用 hub user add 新增")
