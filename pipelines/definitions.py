"""The code location: `dagster dev` run inside a deployment (the repository root for the sample
district, or a folder `hub init` wrote) loads this through its workspace.yaml; the registries
and data are that folder's (HUB_SCHEMAS / HUB_DATA override), never the package's location."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from hub.city.districts import city_wide_registry, district_codes
from hub.registry import load_registry
from hub.settings import Settings, private_files
from pipelines.assets import build_assets
from pipelines.city import CITY, city_asset, city_jobs
from pipelines.resources import HubResource
from pipelines.sensors import build_incoming_sensor


def build_definitions(
    schemas: Path | None = None, data: Path | None = None, sensor_on: bool = False
) -> dg.Definitions:
    """Read the registries and build every asset, check and sensor from them."""
    here = Settings.from_env()
    schemas, data = schemas or here.schemas, data or here.data
    codes = district_codes(Settings(schemas=schemas, data=data))
    if codes:
        return city_definitions(schemas, data, codes)
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


def city_definitions(schemas: Path, data: Path, codes: list[str]) -> dg.Definitions:
    """A city: the district assets partitioned by district (static partitions, one per
    district folder), the city view after them, and the jobs that run districts side by side."""
    registry = city_wide_registry(Settings(schemas=schemas, data=data))
    districts = dg.StaticPartitionsDefinition(codes)
    refresh = dg.define_asset_job(
        "refresh_district",
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(CITY),
        partitions_def=districts,
        description="加载并刷新一个区县（选择分区）",
    )
    return dg.Definitions(
        assets=[*build_assets(registry, districts), city_asset()],
        jobs=[refresh, *city_jobs(codes)],
        resources={"hub": HubResource(schemas=str(schemas), data=str(data))},
        executor=dg.in_process_executor,
    )


private_files()  # Dagster's run writes the same residents' data as `hub run`
defs = build_definitions(sensor_on=Settings.incoming_sensor_on())
