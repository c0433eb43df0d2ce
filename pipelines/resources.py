"""The one resource: where the hub's registries and data live."""

from __future__ import annotations

import os
import pickle
import time
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

    def run_registry(self, run_id: str) -> Registry:
        """The registry as the run's first step read it: every step of one run sees the same
        YAML though steps run in processes of their own and the files may change meanwhile."""
        if run_id in _PINNED:
            return _PINNED[run_id]
        folder = self.settings().data / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run_id}.registry.pickle"
        if not path.exists():
            _sweep(folder)
            tmp = folder / f".{run_id}.{os.getpid()}.tmp"
            tmp.write_bytes(pickle.dumps(self.registry()))
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


def _abs(p: str) -> Path:
    path = Path(p)
    return path.resolve()
