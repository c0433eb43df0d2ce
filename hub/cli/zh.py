"""The command line in Chinese throughout, including the framework's own text.

Typer (with its vendored Click) writes its help panels, usage line, metavars and usage errors
in English with no message catalog to hook. `install()` replaces those texts where Typer
renders them: panel titles and hints (module constants), the usage prefix, the help
option's text, type placeholders (<str> → <文本>), and every usage error's message, which
goes through `translate` on its way to the screen. Idempotent; called before the CLI runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import typer
import typer.core
import typer.rich_utils as rich_utils
from typer._click import exceptions as click_exc
from typer._click import formatting

from hub.validation_text import expected

_CONSTANTS = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ERRORS_PANEL_TITLE": "错误",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]'{command_path} {help_option}'[/] 查看帮助。",
    "DEFAULT_STRING": "[默认：{}]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "DEPRECATED_STRING": "（已弃用）",
}
_TYPES = {
    "str": "文本",
    "int": "整数",
    "float": "数字",
    "path": "路径",
    "Path": "路径",
    "file": "文件",
    "directory": "目录",
    "datetime": "日期时间",
}
_PARAM_TYPES = {"option": "选项", "argument": "参数", "parameter": "参数"}
# English message -> Chinese, first match wins; groups are kept (and translated again where
# they are messages themselves)
_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^Missing (option|argument|parameter)( .+)?\.(?: (.*))?$", re.S),
        lambda m: f"缺少{_PARAM_TYPES.get(m[1], m[1])}{m[2] or ''}。{translate(m[3] or '')}",
    ),
    (re.compile(r"^Missing parameter: (.+)$"), lambda m: f"缺少参数 {m[1]}"),
    (
        re.compile(r"^No such option: (\S+)(?: \(Possible options: (.+)\))?$"),
        lambda m: f"没有选项 {m[1]}" + (f"（可用的选项：{m[2]}）" if m[2] else ""),
    ),
    (
        re.compile(r"^Invalid value for (.+?): (.*)$", re.S),
        lambda m: f"{m[1]} 的取值无效：{translate(m[2])}",
    ),
    (re.compile(r"^Invalid value: (.*)$", re.S), lambda m: f"取值无效：{translate(m[1])}"),
    (
        re.compile(r"^Option '(.+)' requires (an argument|\d+ arguments)\.$"),
        lambda m: (
            f"选项 '{m[1]}' 需要{'一个值' if m[2] == 'an argument' else m[2].split()[0] + ' 个值'}。"
        ),
    ),
    (
        re.compile(r"^Option '(.+)' does not take a value\.$"),
        lambda m: f"选项 '{m[1]}' 不接受取值。",
    ),
    (
        re.compile(r"^Argument '(.+)' takes (\d+) values\.$"),
        lambda m: f"参数 '{m[1]}' 需要 {m[2]} 个值。",
    ),
    (
        re.compile(r"^Got unexpected extra argument\(s\) \((.*)\)$"),
        lambda m: f"多余的参数：{m[1]}",
    ),
    (
        re.compile(r"^No such command '(.+)'\.(.*)$", re.S),
        lambda m: f"没有命令 '{m[1]}'。{translate(m[2].strip())}",
    ),
    (re.compile(r"^Missing command\.$"), lambda m: "缺少命令。"),
    (re.compile(r"^Did you mean (.+)\?$"), lambda m: f"你是不是要输入 {m[1]}？"),
    (
        re.compile(r"^\(Did you mean one of: (.+)\?\)$"),
        lambda m: f"（你是不是要输入其中之一：{m[1]}？）",
    ),
    (
        re.compile(r"^Value (.+) is not a valid (.+)\.$"),
        lambda m: f"{m[1]} 不是有效的{_TYPES.get(m[2], m[2])}。",
    ),
    (re.compile(r"^Value must be an iterable\.$"), lambda m: "取值应为列表。"),
    (re.compile(r"^Choose from:\s*(.*)$", re.S), lambda m: f"可选：{m[1].strip()}"),
    (re.compile(r"^Could not open file (.+?): (.*)$"), lambda m: f"无法打开文件 {m[1]}：{m[2]}"),
    (re.compile(r"^Aborted[.!]$"), lambda m: "已中止。"),
]


def translate(message: str) -> str:
    """One usage error's message in Chinese (unknown ones are returned as they are)."""
    text = message.strip()
    for pattern, render in _MESSAGES:
        if m := pattern.match(text):
            return render(m)
    return message


def _pydantic_message(exc: Any) -> str:
    """Typer converts option values with pydantic: its first error, in Chinese."""
    errors = exc.errors() if hasattr(exc, "errors") else []
    return expected(errors[0]) if errors else "取值不符合要求"


def _display_type(original: Callable[..., str]) -> Callable[..., str]:
    def display(self: Any, ctx: Any) -> str:
        shown = original(self, ctx)
        inner = shown[1:-1] if shown.startswith("<") and shown.endswith(">") else shown
        if inner == "bool":
            return ""  # a flag takes no value: no placeholder
        return f"<{_TYPES.get(inner, inner)}>"

    return display


_installed = False


def install() -> None:
    """Switch Typer's own text to Chinese (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    for name, text in _CONSTANTS.items():
        setattr(rich_utils, name, text)
    for cls in (typer.core.TyperOption, typer.core.TyperArgument):
        cls.display_type = _display_type(cls.display_type)  # type: ignore[method-assign]
    usage = formatting.HelpFormatter.write_usage

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        usage(self, prog, args, "用法：" if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = write_usage  # type: ignore[method-assign]
    _patch_help_option()
    _patch_errors()
    import typer._coercion as coercion
    import typer._param_types as param_types

    coercion.get_error_msg = _pydantic_message
    param_types.get_error_msg = _pydantic_message


def _patch_help_option() -> None:
    from typer._click.core import Command

    original = Command.get_help_option

    def get_help_option(self: Any, ctx: Any) -> Any:
        opt = original(self, ctx)
        if opt is not None:
            opt.help = "显示本帮助并退出。"
        return opt

    Command.get_help_option = get_help_option  # type: ignore[method-assign]


def _patch_errors() -> None:
    """Every usage error is shown through `rich_format_error`: translate its message there."""
    original = rich_utils.rich_format_error

    def rich_format_error(self: Any) -> None:
        raw = self.format_message
        self.format_message = lambda: translate(raw())
        original(self)

    rich_utils.rich_format_error = rich_format_error
    show = click_exc.UsageError.show

    def plain_show(self: Any, file: Any = None) -> None:  # without Rich, the same words
        raw = self.format_message
        self.format_message = lambda: translate(raw())
        show(self, file)

    click_exc.UsageError.show = plain_show  # type: ignore[method-assign]


def localize(command: Any) -> Any:
    """Placeholders of the usage line in Chinese, on `command` and every subcommand."""
    command.options_metavar = "[选项]"
    if hasattr(command, "subcommand_metavar"):
        command.subcommand_metavar = "命令 [参数]..."
    for sub in getattr(command, "commands", {}).values():
        localize(sub)
    return command


def run(app: typer.Typer) -> Any:
    """Run `app` as `hub`, in Chinese."""
    install()
    return localize(typer.main.get_command(app))(prog_name="hub")
