"""The command line speaks Chinese, the framework's own text included: every command's help
and its usage errors carry no English beyond what the hub itself declares (command and
option names, format names such as csv/json, field names in examples)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from hub.cli import zh
from hub.cli.main import app
from tests.conftest import hub_cli

WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
# the framework's words that must never show (a sample: the test below catches all others)
FRAMEWORK = [
    "Usage",
    "Options",
    "Arguments",
    "Commands",
    "Show this message",
    "Error",
    "No such option",
    "Missing",
    "Aborted",
    "TEXT",
    "INTEGER",
    "PATH",
    "<str>",
    "<int>",
    "<path>",
    "<bool>",
    "required",
    "default",
    "Try",
]


@pytest.fixture(scope="module")
def cli() -> Any:
    zh.install()
    return zh.localize(typer.main.get_command(app))


def commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from commands(sub, (*path, name))


def declared_words(cmd: Any) -> set[str]:
    """Every word the hub itself wrote into its commands: names, help, options, metavars."""
    texts = ["hub", "--help"]  # the help option is added by the framework, its name is ours to keep
    for _, c in commands(cmd):
        texts += [c.name or "", c.help or "", c.short_help or ""]
        for p in c.params:
            texts += [*p.opts, *p.secondary_opts, getattr(p, "help", "") or "", p.metavar or ""]
            texts += [str(p.default) if isinstance(p.default, str) else ""]
    return {w for t in texts for w in WORD.findall(t)}


def run(cli: Any, args: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # noqa: SIM117
        with contextlib.suppress(SystemExit):  # --help and usage errors end by exiting
            cli.main(args=args, prog_name="hub", standalone_mode=True)
    return out.getvalue() + err.getvalue()


def foreign(text: str, allowed: set[str]) -> list[str]:
    return sorted({w for w in WORD.findall(text) if w not in allowed})


def test_every_help_page_is_chinese(cli: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")  # no word split across lines
    allowed = declared_words(cli)
    pages = 0
    for path, _ in commands(cli):
        text = run(cli, [*path, "--help"])
        assert "用法：hub" in text and "显示本帮助并退出" in text, path
        assert foreign(text, allowed) == [], (path, text)
        assert not [w for w in FRAMEWORK if w in text], (path, text)
        pages += 1
    assert pages >= 25


def test_usage_errors_are_chinese(cli: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")
    allowed = declared_words(cli)
    cases = [
        (["run", "--no-such-option"], "没有选项"),
        (["nosuch"], "没有命令"),
        (["query", "--bogus"], "没有选项"),
        (["form", "import"], "缺少参数 '文件'"),
        (["sample", "-n", "many"], "应为整数"),
        (["form", "template", "--community"], "需要一个值"),
        (["status", "extra"], "多余的参数"),
        (["form"], "用法：hub form"),
    ]
    for args, expected in cases:
        text = run(cli, args)
        assert expected in text, (args, text)
        assert "错误" in text or args == ["form"], (args, text)
        echoed = {w for a in args for w in WORD.findall(a)}  # what the user typed comes back
        assert foreign(text, allowed | echoed) == [], (args, text)


def test_the_real_command_is_chinese_and_missing_files_read_the_same(tmp_path: Path):
    proc = hub_cli(["--help"], tmp_path, check=False)
    assert "用法：hub [选项] 命令 [参数]..." in proc.stdout
    a = hub_cli(["form", "import", str(tmp_path / "nope.xlsx")], tmp_path, check=False)
    b = hub_cli(["source", "suggest", str(tmp_path / "nope.csv")], tmp_path, check=False)
    assert a.returncode == b.returncode == 2
    assert "文件不存在：" in a.stderr and "文件不存在：" in b.stderr


def test_result_commands_speak_json(tmp_path: Path):
    """Commands that report a result have --json (spot checks on ones that run offline)."""
    doc = json.loads(hub_cli(["audit", "--json"], tmp_path).stdout)
    assert doc["entries"] == 0 and doc["intact"] is True
    assert "访问日志为空" in hub_cli(["audit"], tmp_path).stdout
    proc = hub_cli(
        [
            "user",
            "add",
            "zhang",
            "--community",
            "330199001001",
            "--password",
            "abcdefgh1",
            "--json",
        ],
        tmp_path,
    )
    assert json.loads(proc.stdout)["community"] == "330199001001"
    for name in ("", " wang "):  # names nobody could log in with
        bad = hub_cli(
            ["user", "add", name, "--community", "330199001001", "--password", "abcdefgh1"],
            tmp_path,
            check=False,
        )
        assert bad.returncode == 2 and "登录名" in bad.stderr
    no_tty = hub_cli(
        ["user", "add", "li", "--community", "330199001001"], tmp_path, check=False, input=""
    )
    assert (
        no_tty.returncode == 2
        and "HUB_PASSWORD" in no_tty.stderr
        and "Warning" not in no_tty.stderr
    )
    proc = hub_cli(["rollback", "--json"], tmp_path, check=False)
    assert proc.returncode == 2 and "没有可回退" in proc.stderr
    zh.install()
    cli = zh.localize(typer.main.get_command(app))
    needs = [
        ("source", "add"),
        ("form", "template"),
        ("token", "create"),
        ("token", "revoke"),
        ("user", "add"),
        ("rollback",),
        ("review", "accept"),
        ("review", "reject"),
        ("run",),
        ("status",),
        ("audit",),
        ("burden",),
        ("report", "generate"),
    ]
    by_path = dict(commands(cli))
    for path in needs:
        opts = {o for p in by_path[path].params for o in p.opts}
        assert "--json" in opts, path
