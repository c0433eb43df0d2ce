"""What the warehouse may use of the machine: memory, threads, and where it spills.

Defaults are sized to the machine (a fifth of its memory, every core); a deployment
overrides them in `schemas/resources.yaml` and a server by environment (HUB_MEMORY_MB,
HUB_THREADS, HUB_SPILL_DIR), the environment winning. With a limit, DuckDB spills what does
not fit to the spill folder instead of growing, so memory no longer grows with residents.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hub.registry.files import registry_file

FILE = "resources.yaml"
MIN_MEMORY_MB = 256
_KEYS = {"memory_mb", "threads", "spill_dir"}


class ResourcesError(ValueError):
    """A resources setting that cannot be used (the message is Chinese and names it)."""


@dataclass(frozen=True)
class Resources:
    memory_mb: int
    threads: int
    spill_dir: Path

    def pragmas(self, spill: bool = True) -> list[str]:
        """Settings for a connection; `spill` False for an in-memory scratch database."""
        out = [f"SET memory_limit = '{self.memory_mb}MB'", f"SET threads = {self.threads}"]
        if spill:
            out += [
                f"SET temp_directory = '{str(self.spill_dir).replace(chr(39), chr(39) * 2)}'",
                # results without ORDER BY may come in any order: large copies need not buffer
                "SET preserve_insertion_order = false",
                # DuckDB's buffers kept and reused up to the limit: freed to the system and
                # faulted in again, their pages cost a city's monthly run a third of its time
                # in the kernel (clearing pages); memory used stays bounded by the limit
                f"SET block_allocator_memory = '{self.memory_mb}MB'",
            ]
        return out

    @classmethod
    def defaults(cls, data: Path) -> Resources:
        """The machine's defaults, spilling under `data`, ignoring configuration."""
        return cls.load(data / "-", data, env={})

    @classmethod
    def load(cls, schemas: Path, data: Path, env: Mapping[str, str] | None = None) -> Resources:
        """Machine defaults, then `schemas/resources.yaml`, then the environment."""
        env = os.environ if env is None else env
        doc = _read_file(registry_file(schemas, FILE))
        given: dict[str, Any] = {**doc}
        for key, var in (
            ("memory_mb", "HUB_MEMORY_MB"),
            ("threads", "HUB_THREADS"),
            ("spill_dir", "HUB_SPILL_DIR"),
        ):
            if env.get(var, "").strip():
                given[key] = env[var].strip()
        memory = _positive(given.get("memory_mb"), "memory_mb", machine_memory_mb() // 5)
        threads = _positive(given.get("threads"), "threads", os.cpu_count() or 1)
        spill = Path(str(given.get("spill_dir") or data / "spill"))
        if not spill.is_absolute():
            spill = (data / spill).resolve()
        return cls(max(MIN_MEMORY_MB, memory), threads, spill)


def machine_memory_mb() -> int:
    """Physical memory, or the container's limit where one is set."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total // 2**20)


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise ResourcesError(f"{path.name}：应为「键: 值」的映射")
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise ResourcesError(
            f"{path.name}：不认识的键 {', '.join(unknown)}（可用：memory_mb、threads、spill_dir）"
        )
    return doc


def _positive(value: Any, key: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number <= 0:
        raise ResourcesError(f"{key} 应为正整数，现为「{value}」")
    return number
