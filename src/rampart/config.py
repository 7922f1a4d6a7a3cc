"""Server settings: command-line options, else ``RAMPART_*`` environment variables, else defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT_ID = "123456789012"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str) -> bool:
    return (_env(name, "") or "").lower() in {"1", "true", "yes", "on"}


def _env_on(name: str) -> bool:
    """A switch that is on unless set to 0, off, false or no."""
    return (_env(name, "") or "").lower() not in {"0", "off", "false", "no"}


@dataclass(slots=True)
class Settings:
    """Everything a Rampart server process needs to start.

    ``database_url`` None means the embedded SQLite database in ``data_dir``.
    ``test_mode`` enables the admin routes that move the clock and run jobs.
    """

    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: Path = field(default_factory=lambda: Path(".rampart"))
    database_url: str | None = None
    workers: int = 1
    account_id: str = DEFAULT_ACCOUNT_ID
    root_access_key_id: str | None = None
    root_secret_access_key: str | None = None
    master_key: str | None = None
    region: str = "us-east-1"
    test_mode: bool = False
    max_body_bytes: int = 64 * 1024 * 1024
    max_header_bytes: int = 16 * 1024
    quiet: bool = False
    audit: bool = True  # False: no CloudTrail records at all (RAMPART_AUDIT=off; benchmarks compare the cost)
    trail_delivery_seconds: float = 300.0  # how often trails deliver log files (AWS: about every 5 minutes)
    trail_digest_seconds: float = 3600.0  # how often digest files are written (AWS: hourly)
    background_jobs: bool = True  # False: jobs run only when asked (POST /_rampart/jobs/run, test mode)
    regions: tuple[str, ...] = ()  # served regions (multi-region trails digest each); () = just ``region``

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``RAMPART_*`` variables, defaults for the rest."""
        return cls(
            host=_env("RAMPART_HOST", "127.0.0.1") or "127.0.0.1",
            port=int(_env("RAMPART_PORT", "4566") or 4566),
            data_dir=Path(_env("RAMPART_DATA_DIR", ".rampart") or ".rampart"),
            database_url=_env("RAMPART_DATABASE_URL"),
            workers=int(_env("RAMPART_WORKERS", "1") or 1),
            account_id=_env("RAMPART_ACCOUNT_ID", DEFAULT_ACCOUNT_ID) or DEFAULT_ACCOUNT_ID,
            root_access_key_id=_env("RAMPART_ROOT_ACCESS_KEY_ID"),
            root_secret_access_key=_env("RAMPART_ROOT_SECRET_ACCESS_KEY"),
            master_key=_env("RAMPART_MASTER_KEY"),
            region=_env("RAMPART_REGION", "us-east-1") or "us-east-1",
            test_mode=_env_bool("RAMPART_TEST_MODE"),
            max_body_bytes=int(_env("RAMPART_MAX_BODY_BYTES", str(64 * 1024 * 1024)) or 0),
            max_header_bytes=int(_env("RAMPART_MAX_HEADER_BYTES", str(16 * 1024)) or 0),
            audit=_env_on("RAMPART_AUDIT"),
            trail_delivery_seconds=float(_env("RAMPART_TRAIL_DELIVERY_SECONDS", "300") or 300),
            trail_digest_seconds=float(_env("RAMPART_TRAIL_DIGEST_SECONDS", "3600") or 3600),
            background_jobs=_env_on("RAMPART_BACKGROUND_JOBS"),
            regions=tuple(name.strip() for name in (_env("RAMPART_REGIONS", "") or "").split(",") if name.strip()),
        )

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL: the given one, or SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rampart.db').resolve()}"
