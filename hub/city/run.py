"""`hub run` in a city deployment: each district's own run, one after another in this process,
then the city view. One district's failure is reported and the others still run; the city view
takes each district's last published release. (Dagster runs the same steps side by side:
`pipelines/city.py`.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.city.districts import district_codes, district_settings
from hub.city.view import CityError, CityResult, build_city
from hub.pipeline import RunSummary, run_pipeline
from hub.registry import RegistryError, load_registry
from hub.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class CityRun:
    districts: dict[str, RunSummary] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # district -> why (Chinese)
    city: CityResult | None = None
    city_error: str = ""


def run_district(
    settings: Settings,
    code: str,
    progress: Callable[[str], None] | None = None,
    validate_with_gx: bool = True,
    full: bool = False,
) -> RunSummary:
    """One district's whole run (what `hub run --district` and each Dagster step call)."""
    own = district_settings(settings, code)
    registry = load_registry(own.schemas)
    return run_pipeline(own, registry, progress, validate_with_gx=validate_with_gx, full=full)


def run_city(
    settings: Settings,
    progress: Callable[[str], None] | None = None,
    validate_with_gx: bool = True,
    full: bool = False,
) -> CityRun:
    say = progress or (lambda _m: None)
    out = CityRun()
    for code in district_codes(settings):
        say(f"区县 {code}")
        try:
            out.districts[code] = run_district(settings, code, None, validate_with_gx, full)
        except (RegistryError, OSError, RuntimeError, ValueError) as exc:
            log.exception("district %s failed", code)
            out.failed[code] = str(exc)
    say("全市视图")
    try:
        out.city = build_city(settings)
    except CityError as exc:
        out.city_error = str(exc)
    return out
