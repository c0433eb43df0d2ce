"""`hub serve` and `hub user`: the staff web app and its accounts."""

from __future__ import annotations

import getpass
import re
import sys
from dataclasses import replace

import typer

from hub.cli import context as ctx
from hub.web.accounts import add_staff, load_staff

USERNAME = re.compile(r"[\w.\-]{2,32}")
users = typer.Typer(
    help="社区工作人员账号（密码只存哈希，保存在 data/users.json）。", no_args_is_help=True
)


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
    community: str = typer.Option(..., "--community", help="所服务的社区代码"),
    name: str = typer.Option("", "--name", help="显示的姓名"),
    password: str | None = typer.Option(
        None, "--password", help="密码（不填则提示输入；脚本中可用环境变量 HUB_PASSWORD）"
    ),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """新增或重置一个社区工作人员账号。"""
    import os

    s = ctx.settings()
    reg = ctx.registry(s)
    if not USERNAME.fullmatch(username):
        ctx.fail(
            f"登录名 {username!r} 无效：应为 2–32 位字母、数字、汉字、点、下划线或连字符，不含空格"
        )
    if community not in {c.code for c in reg.orgs.communities}:
        ctx.fail(f"没有社区代码 {community}（见 schemas/orgunits.yaml）")
    pw = password or os.environ.get("HUB_PASSWORD") or _ask_password()
    if len(pw) < 8:
        ctx.fail("密码至少 8 位")
    user = add_staff(s.users, username, community, pw, name)
    if as_json:
        ctx.print_json({"username": username, "community": community, "name": user.display_name})
        return
    ctx.console.print(f"已保存账号 {username}（社区 {community}）")


def _ask_password() -> str:
    if not sys.stdin.isatty():  # getpass would fall back to an echoing prompt with a warning
        ctx.fail("没有可输入密码的终端：请用 --password 或环境变量 HUB_PASSWORD 提供密码")
    return getpass.getpass("密码：")


@users.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出账号（不含密码）。"""
    staff = load_staff(ctx.settings().users)
    rows = [
        {"username": u.username, "community": u.community, "name": u.display_name}
        for u in staff.values()
    ]
    if as_json:
        ctx.print_json(rows)
        return
    for r in rows:
        ctx.console.print(f"{r['username']}\t{r['community']}\t{r['name']}")
    if not rows:
        ctx.console.print("尚无账号：用 hub user add 新增")
