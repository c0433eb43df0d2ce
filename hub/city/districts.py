"""Where a city's districts live: `schemas/districts/<code>/` holds a district's org units (and
any registrations of its own) over the city's `schemas/`; `data/districts/<code>/` holds its
files, warehouse and published snapshots. A deployment without that folder is one district."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from hub.registry import Registry, RegistryError, load_registry
from hub.registry.files import DISTRICTS
from hub.settings import Settings

_CODE = re.compile(r"^\d{6}$")
CITY = "city"  # HUB_DISTRICT=city: the city view's grants, tokens and access log


class DistrictError(ValueError):
    """A district that this deployment does not hold (the message is Chinese)."""


def district_codes(settings: Settings) -> list[str]:
    """The districts of a city deployment, in code order (empty for a one-district one)."""
    folder = settings.schemas / DISTRICTS
    if not folder.is_dir():
        return []
    return sorted(
        p.name for p in folder.iterdir() if _CODE.match(p.name) and (p / "orgunits.yaml").is_file()
    )


def is_city(settings: Settings) -> bool:
    return bool(district_codes(settings))


def district_settings(settings: Settings, code: str) -> Settings:
    """The settings of district `code` of the city at `settings`."""
    codes = district_codes(settings)
    if code not in codes:
        have = "、".join(codes) or "（本部署没有 schemas/districts/ 下的区县）"
        raise DistrictError(f"没有区县 {code}：本部署的区县为 {have}")
    return replace(
        settings,
        schemas=settings.schemas / DISTRICTS / code,
        data=settings.data / DISTRICTS / code,
    )


def city_data(settings: Settings) -> Path:
    """The city step's own folder: its warehouse, published view and access log."""
    return settings.data / "city"


def city_settings(settings: Settings) -> Settings:
    """Settings whose data folder is the city's (published view, access log, tokens), as
    HUB_DISTRICT=city gives every command."""
    if not is_city(settings):
        raise DistrictError("本部署没有区县（schemas/districts/<代码>/），没有全市视图")
    return replace(settings, data=city_data(settings), scope=CITY)


def queue_of(code: str) -> str:
    """The Celery queue of district `code`'s steps: served only by the worker that holds the
    district's files (`hub city worker --districts`)."""
    return f"district_{code}"


def city_wide_registry(settings: Settings) -> Registry:
    """The city's shared registrations as a district reads them (with its neighbours, the
    others): the first district whose files load, so one district's broken file fails that
    district alone."""
    errors = []
    for code in district_codes(settings):
        try:
            return load_registry(district_settings(settings, code).schemas)
        except RegistryError as exc:
            errors.append(str(exc))
    raise DistrictError("没有一个区县的登记能加载：" + ("；".join(errors) or "本部署没有区县"))
