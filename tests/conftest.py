"""Fixtures: the repository's registries, a generated sample district, and one pipeline run
over it that many tests read from (running the whole pipeline is the slow part)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from hub.registry import Registry, load_registry
from hub.registry.files import copy_defaults
from hub.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"


def copy_schemas(dest: Path) -> Path:
    """A private, complete copy of the sample district's registries (its own files over the
    package's generic ones), as `hub init` writes them, for a test to change."""
    shutil.copytree(SCHEMAS, dest)
    copy_defaults(dest)
    return dest


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(SCHEMAS)


def hub_cli(
    args: list[str],
    data: Path,
    schemas: Path = SCHEMAS,
    check: bool = True,
    timeout: int = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `hub` command as a user would, against `data`."""
    env = {**os.environ, "HUB_DATA": str(data), "HUB_SCHEMAS": str(schemas), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "hub", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"hub {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@dataclass
class Run:
    data: Path
    truth_rows: list[dict[str, str]]
    summary: dict[str, Any]

    @property
    def settings(self) -> Settings:
        return Settings(schemas=SCHEMAS, data=self.data)

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.data / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(query, params or []).fetchall()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`hub sample` (800 residents) then `hub run --json`, once per test session."""
    data = tmp_path_factory.mktemp("district")
    hub_cli(["sample", "--residents", "800", "--seed", "11"], data)
    summary = json.loads(hub_cli(["run", "--json"], data).stdout)
    with (data / "truth" / "rows.csv").open(encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    return Run(data=data, truth_rows=truth, summary=summary)


@pytest.fixture
def hub_home(tmp_path: Path) -> Iterator[Settings]:
    """An empty data folder and a private copy of the registries a test may change."""
    schemas = copy_schemas(tmp_path / "schemas")
    s = Settings(schemas=schemas, data=tmp_path / "data")
    s.ensure()
    yield s
