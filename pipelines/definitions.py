"""The code location: `dagster dev` from the repository root loads this (see workspace.yaml)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from hub.registry import load_registry
from hub.settings import Settings, private_files
from pipelines.assets import build_assets
from pipelines.resources import REPO, HubResource
from pipelines.sensors import build_incoming_sensor


def build_definitions(
    schemas: Path = REPO / "schemas", data: Path = REPO / "data", sensor_on: bool = False
) -> dg.Definitions:
    """Read the registries and build every asset, check and sensor from them."""
    registry = load_registry(schemas)
    assets = build_assets(registry)
    refresh = dg.define_asset_job(
        "refresh_all", selection=dg.AssetSelection.all(), description="加载新文件并刷新全部数据"
    )
    return dg.Definitions(
        assets=assets,
        jobs=[refresh],
        sensors=[build_incoming_sensor(refresh, sensor_on)],
        resources={"hub": HubResource(schemas=str(schemas), data=str(data))},
        # DuckDB allows one writing process, and per-step processes cost ~3 s each.
        executor=dg.in_process_executor,
    )


private_files()  # Dagster's run writes the same residents' data as `hub run`
defs = build_definitions(sensor_on=Settings.incoming_sensor_on())
