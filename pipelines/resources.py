"""The one resource: where the hub's registries and data live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from hub.registry import Registry, load_registry
from hub.settings import Settings


class HubResource(dg.ConfigurableResource):
    """Paths of the hub; relative paths are taken from the working directory (the deployment)."""

    schemas: str = "schemas"
    data: str = "data"

    def settings(self) -> Settings:
        return Settings(schemas=_abs(self.schemas), data=_abs(self.data))

    def registry(self) -> Registry:
        return load_registry(_abs(self.schemas))


def _abs(p: str) -> Path:
    path = Path(p)
    return path.resolve()
