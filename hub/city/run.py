"""`hub run` in a city deployment: each district's own run, one after another in this process,
then the city view. One district's failure is reported and the others still run; the city view
takes each district's last published release. (Dagster runs the same steps side by side:
`pipelines/city.py`.)"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.atomic import write_json
from hub.city.districts import district_codes, district_settings
from hub.city.view import CityError, CityResult, build_city
from hub.pipeline import RunSummary, run_pipeline
from hub.registry import RegistryError, load_registry
from hub.settings import Settings

log = logging.getLogger(__name__)
LAST_RUN = "last_run.json"


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
    """One district's whole run (what `hub run` and each Dagster step call); what it took
    is kept in the district's `last_run.json` (on whichever worker ran it)."""
    own = district_settings(settings, code)
    registry = load_registry(own.schemas)
    t0 = time.perf_counter()
    out = run_pipeline(own, registry, progress, validate_with_gx=validate_with_gx, full=full)
    write_json(
        own.data / LAST_RUN,
        {
            "district": code,
            "seconds": round(time.perf_counter() - t0, 3),
            "peak_rss_mb": round(max(out.peak_mb.values(), default=0.0), 1),
            "threads": own.resources.threads,
            "memory_mb": own.resources.memory_mb,
            "persons": out.core.persons if out.core else None,
            "release": out.published.release if out.published else None,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )
    return out


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
            log.debug("district %s failed", code, exc_info=True)  # the reason is reported
            out.failed[code] = str(exc)
    say("全市视图")
    try:
        out.city = build_city(settings)
    except (CityError, OSError, ValueError) as exc:
        out.city_error = str(exc)
    return out
