"""The one resource: where the hub's registries and data live."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path
from typing import Any

import dagster as dg

from hub.city.districts import district_settings
from hub.registry import Registry, load_registry
from hub.settings import Settings


class HubResource(dg.ConfigurableResource):
    """Paths of the hub; relative paths are taken from the working directory (the deployment)."""

    schemas: str = "schemas"
    data: str = "data"

    def base(self) -> Settings:
        """The deployment's settings (a city's: its districts are below)."""
        return Settings(schemas=_abs(self.schemas), data=_abs(self.data))

    def settings(self, context: Any = None) -> Settings:
        """The settings the step works on: its partition's district in a city deployment."""
        key = _district(context)
        return district_settings(self.base(), key) if key else self.base()

    def registry(self, context: Any = None) -> Registry:
        return load_registry(self.settings(context).schemas)

    def run_registry(self, context: Any) -> Registry:
        """The registry as the run's first step read it: every step of one run sees the same
        YAML though steps run in processes of their own and the files may change meanwhile."""
        run_id = f"{context.run_id}{'.' + d if (d := _district(context)) else ''}"
        if run_id in _PINNED:
            return _PINNED[run_id]
        folder = self.settings(context).data / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run_id}.registry.pickle"
        if not path.exists():
            _sweep(folder)
            tmp = folder / f".{run_id}.{os.getpid()}.tmp"
            tmp.write_bytes(pickle.dumps(self.registry(context)))
            try:
                os.link(tmp, path)  # the first step to get here pins it; the others read it
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        _PINNED[run_id] = pickle.loads(path.read_bytes())  # noqa: S301 - see the import
        return _PINNED[run_id]


_PINNED: dict[str, Registry] = {}
KEEP_S = 7 * 24 * 3600  # a run's pinned registry is kept a week


def _sweep(folder: Path) -> None:
    now = time.time()
    for f in folder.glob("*.registry.pickle"):
        if now - f.stat().st_mtime > KEEP_S:
            f.unlink(missing_ok=True)


def _district(context: Any) -> str:
    """The district a partitioned step works on ('' outside a city's partitions)."""
    if context is None or not getattr(context, "has_partition_key", False):
        return ""
    return str(context.partition_key)


def _abs(p: str) -> Path:
    path = Path(p)
    return path.resolve()
