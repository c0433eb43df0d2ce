"""The one error a broken registry raises: it names the file, the entry and what is allowed."""

from __future__ import annotations

from pathlib import Path


class RegistryError(ValueError):
    """A registry file is missing, malformed or inconsistent with the others."""

    def __init__(self, path: Path | str, entry: str, problem: str) -> None:
        self.path = str(path)
        self.entry = entry
        self.problem = problem
        where = f"{self.path}：{entry}" if entry else self.path
        super().__init__(f"登记表错误 {where}：{problem}")
