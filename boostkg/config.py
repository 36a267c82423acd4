"""Settings for every entry point (env prefix ``BOOSTKG_``); the only reader of ``os.environ``."""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository (or installed source tree) root: holds ontology/, data/, queries/."""

DEFAULT_STORE = Path("var/store")
"""Where the embedded store lives unless --store or BOOSTKG_STORE says otherwise (relative to the
working directory)."""


DEFAULT_MAX_SUBMISSION_BYTES = 10 * 1024 * 1024
"""10 MiB; ``BOOSTKG_MAX_SUBMISSION_BYTES`` (or ``Settings(max_submission_bytes=...)``) changes it."""


class LogFormat(enum.Enum):
    """How `serve` writes its log records to stderr."""

    text = "text"
    json = "json"


class LogLevel(enum.Enum):
    """The least severe log records written."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class Settings(BaseSettings):
    """Everything configurable, from the environment (``BOOSTKG_STORE`` ...) or passed in."""

    model_config = SettingsConfigDict(env_prefix="BOOSTKG_", frozen=True)

    store: Path = Field(default=DEFAULT_STORE, description="Embedded store directory.")
    store_url: str | None = Field(
        default=None,
        description="A remote SPARQL 1.1 server's query endpoint; when set, it is the store (not `store`).",
    )
    store_update_url: str | None = Field(
        default=None, description="The remote server's SPARQL Update endpoint (default: `store_url`)."
    )
    store_gsp_url: str | None = Field(
        default=None,
        description="The remote server's Graph Store Protocol endpoint for bulk writes (default: none; "
        "bulk writes then go as INSERT DATA updates).",
    )
    store_user: str | None = Field(
        default=None, description="User name for the remote server (Basic or Digest)."
    )
    store_password: SecretStr | None = Field(default=None, description="Password for the remote server.")
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `serve` listens on.")
    ontology_dir: Path = Field(
        default=PROJECT_ROOT / "ontology", description="The ICF ontology and its SKOS schemes (Turtle)."
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data", description="Authored seed instances and example submissions."
    )
    queries_dir: Path = Field(
        default=PROJECT_ROOT / "queries", description="Named SPARQL queries and quality checks."
    )
    shared_data_dir: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "data",
        description="The real reference data (CORDIS, NUTS, EIS) beside the clone.",
    )
    reports_dir: Path = Field(
        default=Path("reports"),
        description="Where load and corridor reports are written (relative: to the working directory).",
    )
    ui_vendor_dir: Path = Field(
        default=PROJECT_ROOT / "boostkg" / "api" / "static" / "vendor" / "node_modules",
        description="npm packages of the /query page (YASGUI), installed by scripts/setup.sh.",
    )
    query_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds a SPARQL query may run before it is stopped."
    )
    update_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds a SPARQL Update may run before it is stopped (the store is then unchanged).",
    )
    query_workers: int = Field(
        default=3, ge=1, le=64, description="Worker processes running SPARQL queries in parallel."
    )
    keep_alive_s: int = Field(
        default=10,
        ge=1,
        le=600,
        description="Seconds an idle kept-alive HTTP connection stays open. Longer than common "
        "clients' own idle expiry (httpx: 5 s), so that the client, not the server, closes it: a "
        "request sent on a connection the server is closing is lost without an answer.",
    )
    http_processes: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Processes answering HTTP: the server plus N - 1 lookup processes answering "
        "SPARQL queries that cannot run long (bounded lookups, joins with a small proven work "
        "bound) from a read-only checkpoint, about 90 MiB each (see boostkg/api/lookups.py); on a "
        "remote store (BOOSTKG_STORE_URL) they relay every plain GET query to it instead. One "
        "per core is a good start; with 1, one Python process does all HTTP work on one core.",
    )
    access_log: bool = Field(
        default=False, description="Log every HTTP request `serve` answers (costs ~5 % of a cheap query)."
    )
    max_query_bytes: int = Field(
        default=512 * 1024, gt=0, description="Largest SPARQL query or update text accepted (bytes)."
    )
    max_result_bytes: int = Field(
        default=1024**3, gt=0, description="Largest serialised query result sent (bytes); cut off beyond."
    )
    service_allow: tuple[str, ...] = Field(
        default=(),
        description="SPARQL endpoints a query may call with SERVICE; empty (the default) disables SERVICE.",
    )
    cors_origins: tuple[str, ...] = Field(
        default=("*",), description="Origins allowed to call the API from a browser (CORS); empty disables."
    )
    shapes_dir: Path = Field(default=PROJECT_ROOT / "shapes", description="SHACL shapes for submissions.")
    max_submission_bytes: int = Field(
        default=DEFAULT_MAX_SUBMISSION_BYTES,
        gt=0,
        description="Largest submission body accepted (bytes); larger ones get 413. Default 10 MiB.",
    )
    max_restore_bytes: int = Field(
        default=16 * 1024**3,
        gt=0,
        description="Largest backup accepted by `POST /admin/restore` (bytes); larger ones get 413.",
    )
    docs_dir: Path = Field(
        default=PROJECT_ROOT / "docs", description="Generated documentation served at /icf and /shapes."
    )
    incoming_links_limit: int = Field(
        default=100, ge=0, description="Incoming links a resource page shows (the total is counted)."
    )
    resource_facts_limit: int = Field(
        default=2000, ge=1, description="Statements with the resource as subject a resource page reads."
    )
    log_format: LogFormat = Field(
        default=LogFormat.text,
        description="Log records on stderr as text lines or as JSON lines (time, level, logger, message, "
        "request_id, http).",
    )
    log_level: LogLevel = Field(default=LogLevel.info, description="The least severe log records written.")
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    metrics_store_max_age_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds the store's quad count shown in /metrics is reused before a recount.",
    )
    void_max_age_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds the cached VoID statistics are trusted when graph/meta records no change.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment; a FastAPI dependency and the CLI's default."""
    return Settings()
