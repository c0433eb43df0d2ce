"""Where the hub keeps its registries and data. One object, built once by the caller."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Paths of one hub installation.

    Example:
        >>> s = Settings(schemas=Path("schemas"), data=Path("data"))
        >>> s.warehouse.name
        'warehouse.duckdb'
    """

    schemas: Path
    data: Path

    @classmethod
    def from_env(cls) -> Settings:
        """Read HUB_SCHEMAS / HUB_DATA, defaulting to ./schemas and ./data (called by entry points)."""
        return cls(
            schemas=Path(os.environ.get("HUB_SCHEMAS", "schemas")).resolve(),
            data=Path(os.environ.get("HUB_DATA", "data")).resolve(),
        )

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    @property
    def incoming(self) -> Path:
        return self.data / "incoming"

    @property
    def archive(self) -> Path:
        return self.data / "archive"

    @property
    def published(self) -> Path:
        return self.data / "published"

    @property
    def gx(self) -> Path:
        return self.data / "gx"

    @property
    def truth(self) -> Path:
        return self.data / "truth"

    @property
    def sample(self) -> Path:
        return self.data / "sample"

    def ensure(self) -> None:
        for p in (self.data, self.incoming, self.archive, self.published):
            p.mkdir(parents=True, exist_ok=True)
