"""Where the hub keeps its registries and data. One object, built once by the caller."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hub.resources import Resources

DEFAULT_UMASK = 0o077  # what the hub writes is its own: files 0600, folders 0700


def private_files(env: Mapping[str, str] | None = None) -> int:
    """Make every file and folder this process creates private to its user (entry points call
    this once). HUB_UMASK (octal, e.g. 027) configures otherwise; returns the mask applied."""
    text = (os.environ if env is None else env).get("HUB_UMASK", "").strip()
    try:
        mask = int(text, 8) if text else DEFAULT_UMASK
    except ValueError:
        mask = DEFAULT_UMASK
    os.umask(mask & 0o777)
    return mask & 0o777


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
    public_url: str = ""  # where staff reach `hub serve` (https there: Secure cookies)
    # "city": the city view of a city deployment (its data folder is data/city; its registry is
    # hub.city.view.city_registry) — set by HUB_DISTRICT=city
    scope: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        """Read HUB_SCHEMAS / HUB_DATA / HUB_PUBLIC_URL, defaulting to ./schemas and ./data
        (called by entry points); HUB_DISTRICT picks one district of a city deployment, so
        every command (serve, query, status …) works on that district."""
        base = cls(
            schemas=Path(os.environ.get("HUB_SCHEMAS", "schemas")).resolve(),
            data=Path(os.environ.get("HUB_DATA", "data")).resolve(),
            public_url=os.environ.get("HUB_PUBLIC_URL", "").strip(),
        )
        district = os.environ.get("HUB_DISTRICT", "").strip()
        if not district:
            return base
        from hub.city.districts import CITY, city_settings, district_settings  # its layout

        return city_settings(base) if district == CITY else district_settings(base, district)

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    @cached_property
    def resources(self) -> Resources:
        """Memory, threads and spill folder of the warehouse (see hub.resources)."""
        return Resources.load(self.schemas, self.data)

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

    @property
    def reports(self) -> Path:
        return self.data / "reports"

    @property
    def submissions(self) -> Path:
        """Form submissions, appended by the web app; the pipeline only reads them."""
        return self.data / "submissions"

    @property
    def form_conflicts(self) -> Path:
        """Template cells changed in the hub meanwhile, waiting for the worker's decision."""
        return self.data / "form_conflicts"

    @property
    def requests(self) -> Path:
        """Requests between units (迁入申请 …): append-only, never the warehouse."""
        return self.data / "requests"

    @property
    def users(self) -> Path:
        """Staff accounts (password hashes): outside the repository like the warehouse."""
        return self.data / "users.json"

    @property
    def audit(self) -> Path:
        """The access log of department reads (append-only, hash-chained)."""
        return self.data / "audit"

    @property
    def tokens(self) -> Path:
        """Department API tokens (hashes only)."""
        return self.data / "api_tokens.json"

    @property
    def decisions(self) -> Path:
        """Review decisions on uncertain links (appended by `hub review`, read by runs)."""
        return self.data / "review" / "decisions.jsonl"

    def secret(self) -> str:
        """This installation's key for opaque person ids (created once, never committed).

        Person ids are published; a hash of the citizen ID alone could be reversed by trying
        every plausible ID, a keyed one cannot.
        """
        path = self.data / "hub.secret"
        if not path.exists():
            self.data.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip()

    @staticmethod
    def incoming_sensor_on(env: Mapping[str, str] | None = None) -> bool:
        """Whether Dagster's incoming-files sensor starts on: off unless HUB_INCOMING_SENSOR is
        on/1/true, so opening `dagster dev` to look around never loads and publishes by itself."""
        value = (os.environ if env is None else env).get("HUB_INCOMING_SENSOR", "")
        return value.strip().lower() in ("1", "on", "true", "yes")

    def ensure(self) -> None:
        for p in (self.data, self.incoming, self.archive, self.published):
            p.mkdir(parents=True, exist_ok=True)
