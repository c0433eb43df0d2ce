"""Shared CLI plumbing: settings, the registry with a readable error, Rich console, progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from hub.city.districts import CITY, district_codes, is_city
from hub.city.view import CityError, city_registry
from hub.registry import Registry, RegistryError, load_registry
from hub.settings import Settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:  # HUB_DISTRICT names no district of this deployment
        fail(str(exc))


def registry(s: Settings) -> Registry:
    if s.scope != CITY and is_city(s):  # the city's own folder is no district
        fail(
            f"这是城市部署（区县：{'、'.join(district_codes(s))}）：请用环境变量 HUB_DISTRICT=区县代码 "
            "指定区县，或 HUB_DISTRICT=city 指全市视图"
        )
    try:
        if s.scope == CITY:  # HUB_DISTRICT=city: the city view's grants
            return city_registry(s)
        return load_registry(s.schemas)
    except (RegistryError, CityError) as exc:
        fail(str(exc))


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]错误：[/]{message}", soft_wrap=True)  # paths stay whole
    raise typer.Exit(code)


def require_file(path: Path) -> None:
    """Stop with the one wording every command uses for a missing input file."""
    if not path.is_file():
        fail(f"文件不存在：{path}")


def print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


@contextmanager
def steps(enabled: bool = True, total: int | None = None) -> Iterator[Any]:
    """A progress bar (a spinner when `total` is unknown) advanced by each message.

    Quiet under --json. Each message names the step now running; the bar counts the ones
    before it as done.
    """
    if not enabled:
        yield lambda _msg: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("准备中", total=total)
        started = False

        def say(msg: str) -> None:
            nonlocal started
            progress.update(task, description=msg, advance=1 if started else 0)
            started = True

        yield say
