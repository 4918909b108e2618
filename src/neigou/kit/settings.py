"""Settings read from the environment (``NEIGOU_*``)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from pydantic import AfterValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from neigou.kit.clock import is_valid_timezone

DEFAULT_DATA_DIR = Path(".neigou")
SESSION_SETTINGS = "neigou.settings"  # a session's key for its application's settings
# Connections beyond the admitted requests: two in-process job threads, the click flusher, the
# readiness probe, a metrics scrape and one spare.
POOL_RESERVE = 6
# Connections the open event streams read through, together: however many streams are open, their
# reads between pushes take no more than these (``web.streaming.StreamGate``).
STREAM_READERS = 2
# ``NEIGOU_SECRET_KEY`` unset: fine on a laptop (``neigou demo``), refused in production (see
# ``check_secret_key``), as is any key shorter than ``MIN_SECRET_KEY_LENGTH``.
DEV_SECRET_KEY = "dev-insecure-secret-change-me"  # noqa: S105 - the development default, refused in production
MIN_SECRET_KEY_LENGTH = 32


def with_timeouts(url: str, *, socket_s: float, connect_s: float) -> str:
    """A Redis URL with ``socket_timeout`` and ``socket_connect_timeout`` query parameters, those it
    names already kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    named = {k for k, _ in query}
    for key, value in (("socket_timeout", socket_s), ("socket_connect_timeout", connect_s)):
        if key not in named:
            query.append((key, f"{value:g}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _zone_name(name: str) -> str:
    if not is_valid_timezone(name):
        raise ValueError(f"{name!r} is not an IANA time zone name (for example Asia/Shanghai)")
    return name


class Settings(BaseSettings):
    """Process-wide configuration; every field maps to ``NEIGOU_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="NEIGOU_", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_DATA_DIR / 'neigou.db'}")
    redis_url: str | None = None
    # How long a Redis command may wait for its answer, and a connection for Redis to accept it
    # (seconds): a Redis that accepts connections and never answers fails a request with 503
    # ``overloaded`` and a stream reader's read, instead of holding their threads. Longer than any
    # blocking read (a stream consumer waits 0.2 s for new entries, the job queue 1 s).
    redis_socket_timeout_s: float = Field(default=5.0, gt=1.0, le=300)
    redis_connect_timeout_s: float = Field(default=2.0, gt=0, le=300)
    # Where people reach this deployment: every absolute URL (share and recruiting links, posters,
    # sign-in links) starts with it, never with a request's Host header. An https URL also makes every
    # cookie Secure.
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^/?#\s]+/?$")
    # Addresses of the reverse proxies whose X-Forwarded-For / X-Forwarded-Proto `neigou serve` believes
    # (uvicorn's ``forwarded_allow_ips``: comma-separated addresses or networks, "*" any). Unset:
    # uvicorn's FORWARDED_ALLOW_IPS, else 127.0.0.1. Every per-address rate limit counts the address it
    # yields (web.pages.client_ip): one the proxy names only when the proxy is listed here.
    forwarded_allow_ips: str | None = None
    # Host names the server answers (comma-separated; "*" any, "*.example.com" a domain's hosts);
    # another Host header is refused with 400. Unset: the public URL's host, localhost and 127.0.0.1.
    trusted_hosts: str | None = None
    # How long a one-time workspace sign-in link works (minutes).
    sign_in_code_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    # Keyed hashing of personal data (phone, openid) and signing (recruiting codes, one-time cookies),
    # and the payee sealing key when NEIGOU_PAYEE_KEYS is unset: a long random value (at least
    # MIN_SECRET_KEY_LENGTH characters), required in production (``check_secret_key``).
    secret_key: str = DEV_SECRET_KEY
    # How far past this server's clock a time that moves money may lie (another system's clock runs
    # a little ahead); anything later is refused with 422 time_in_future.
    clock_skew_seconds: int = Field(default=300, ge=0, le=86_400)
    # in-process: jobs run on threads of the web process, queued in a SQLite file beside the data.
    # redis: jobs queued on NEIGOU_REDIS_URL and run by `neigou worker`.
    jobs_backend: str = Field(default="in-process", pattern="^(in-process|redis|immediate)$")
    jobs_path: str = str(DEFAULT_DATA_DIR / "jobs.db")
    # How long `neigou worker`, told to stop (SIGTERM), waits for its running jobs to finish before it
    # stops anyway (seconds): under the usual 30 s a container or service manager waits before SIGKILL.
    # Delivery runs stop claiming new rows as soon as the stop begins (kit.attempts.begin_stop).
    worker_shutdown_s: float = Field(default=25.0, gt=0, le=3600)
    # process: each web process hands its clicks to a writer process (see neigou.links.click_writer).
    # thread: the web process writes them itself, from a background thread (tests, tiny setups).
    click_writer: str = Field(default="process", pattern="^(process|thread)$")
    # How often buffered clicks are written when no batch has filled (seconds).
    click_flush_seconds: float = Field(default=1.0, gt=0, le=3600)
    log_json: bool = False
    # Outbound calls (integrations' webhooks, CRM pushes, robots and alerts) go to public Internet
    # addresses only: a URL whose host is, or resolves to, a loopback, private, link-local or metadata
    # address is refused. Set to 1 for a relay on the deployment's own network (never on a shared host:
    # any operator's URL could then reach this host's services).
    outbound_allow_private: bool = False
    # The zone of pages and reports that have no program's own (an IANA name, checked at start:
    # a misspelt zone would otherwise fail every page that reads it).
    default_timezone: Annotated[str, AfterValidator(_zone_name)] = "Asia/Shanghai"
    session_hours: int = 12
    # Admission control (per web process): requests served at once, and how long one more may wait for
    # a slot before it is answered 503 ``overloaded`` with Retry-After (seconds) and Retry-After-Ms.
    max_in_flight: int = Field(default=16, ge=1)
    # Largest request body accepted (bytes); past it 413 body_too_large, before anything reads it.
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Largest JSON body (bytes) of an endpoint that takes neither a file nor a marked large body
    # (kit.json_text.takes_large_body): past it the same 413, before the body is read past it.
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    queue_wait_ms: int = Field(default=1000, ge=0)
    # Seconds a small body (up to max_json_body_bytes) may take to arrive whole, and a larger one may stop
    # arriving; past either, 408 body_timeout (web.body_deadline).
    body_timeout_s: float = Field(default=15.0, gt=0)
    # Slowest a larger body may arrive on average over the time its sender has had, after the first
    # body_timeout_s (bytes a second; 0: no minimum); behind it, 408 body_timeout (web.body_deadline).
    body_min_rate_bytes_s: int = Field(default=1024, ge=0)
    retry_after_ms: int = Field(default=1000, ge=1)
    # Longest wait (ms) of a request for a row lock that order intake's shared locks can keep from being
    # granted (a program's, kit.lock_wait), and of a risk scan for its program's lock (another scan or a
    # tier evaluation may hold it); past it 503 ``overloaded`` with Retry-After, nothing written.
    lock_wait_ms: int = Field(default=5000, ge=1)
    # Server-Sent-Event streams (the live board) open at once per web process, counted apart from
    # ``max_in_flight`` for their whole life; one more is answered 503 ``overloaded`` with Retry-After.
    max_streams: int = Field(default=256, ge=1)
    # Database pool (per web process). Unset: ``max_in_flight`` plus POOL_RESERVE and STREAM_READERS, so an admitted
    # request never waits for a connection (each holds at most one at a time) while the in-process
    # job threads, the click flusher and the probes take theirs.
    db_pool_size: int | None = Field(default=None, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    # Bearer secret a Prometheus scraper may present at /metrics instead of an operator token.
    metrics_token: str | None = None
    # The analytics store: duckdb:///PATH (default: analytics.duckdb beside jobs_path, i.e.
    # .neigou/analytics.duckdb) or chdb:///PATH (ClickHouse in process).
    analytics_url: str | None = None
    # How often the scheduled extract copies new facts into it (minutes, 1-59).
    analytics_refresh_minutes: int = Field(default=5, ge=1, le=59)

    # Fernet keys (comma-separated; the first seals, all open) for payee accounts kept encrypted at
    # rest. Unset: a key derived from secret_key, with a warning at start (development only).
    payee_keys: str | None = None

    @property
    def sealing_keys(self) -> list[str]:
        """The configured payee keys, first one sealing; empty when unset."""
        return [k.strip() for k in (self.payee_keys or "").split(",") if k.strip()]

    @property
    def redis_client_url(self) -> str | None:
        """``redis_url`` with the command and connect timeouts as query parameters (unless it sets
        them itself), so every client made from it (``redis.Redis.from_url``, the job queue, the rate
        limits, the click writer process) carries them."""
        if not self.redis_url:
            return None
        return with_timeouts(
            self.redis_url, socket_s=self.redis_socket_timeout_s, connect_s=self.redis_connect_timeout_s
        )

    @property
    def public_base(self) -> str:
        """The public URL without its trailing slash, to put a path after."""
        return self.public_url.rstrip("/")

    @property
    def allowed_hosts(self) -> list[str]:
        """The Host headers answered (``trusted_hosts``, or the public URL's host and loopback)."""
        if self.trusted_hosts is not None:
            return [h.strip() for h in self.trusted_hosts.split(",") if h.strip()]
        return [urlsplit(self.public_url).hostname or "127.0.0.1", "localhost", "127.0.0.1"]

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when the deployment is served over HTTPS."""
        return self.public_url.startswith("https://")

    @property
    def pool_size(self) -> int:
        """Connections each process keeps: the setting, or one per admitted request plus the reserve
        and the streams' readers."""
        return self.db_pool_size or self.max_in_flight + POOL_RESERVE + STREAM_READERS


class InsecureSecretKey(RuntimeError):
    """A production deployment configured with the development secret key or a short one."""


_warned_of_weak_key = False


def looks_like_production(settings: Settings) -> bool:
    """Whether the deployment is served to people: an https public URL, or a PostgreSQL database."""
    return settings.public_url.startswith("https://") or make_url(
        settings.database_url
    ).get_backend_name() in {
        "postgresql",
        "postgres",
    }


def check_secret_key(settings: Settings) -> None:
    """Refuse to start (``InsecureSecretKey``) a deployment that looks like production
    (:func:`looks_like_production`) with the development secret key or one shorter than
    ``MIN_SECRET_KEY_LENGTH``: anyone who read the source could forge recruiting codes and one-time
    cookies, and reverse the keyed phone and openid hashes. Elsewhere (``neigou demo``, tests on SQLite
    over http) it is only a warning, logged once per process. The key itself is never shown."""
    global _warned_of_weak_key  # noqa: PLW0603 - one warning per process
    default = settings.secret_key == DEV_SECRET_KEY
    if not default and len(settings.secret_key) >= MIN_SECRET_KEY_LENGTH:
        return
    problem = (
        "is the development default" if default else f"is shorter than {MIN_SECRET_KEY_LENGTH} characters"
    )
    advice = (
        f"NEIGOU_SECRET_KEY {problem}; set a long random value, for example the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    )
    if looks_like_production(settings):
        raise InsecureSecretKey(
            advice + " (refused: NEIGOU_PUBLIC_URL is https or NEIGOU_DATABASE_URL is PostgreSQL)"
        )
    if not _warned_of_weak_key:
        _warned_of_weak_key = True
        structlog.get_logger(__name__).warning("secret_key.weak", detail=advice + " (development only)")


def check_keys(settings: Settings) -> None:
    """What an application checks of its keys as it starts: the secret key (:func:`check_secret_key`),
    and a warning when payee accounts are sealed with a key derived from it."""
    check_secret_key(settings)
    if not settings.sealing_keys:
        structlog.get_logger(__name__).warning(
            "payee_keys.unset",
            detail="payee accounts are sealed with a key derived from NEIGOU_SECRET_KEY; "
            "set NEIGOU_PAYEE_KEYS (Fernet keys) in production",
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (cached; tests clear the cache)."""
    return Settings()


def use_settings(session: Session, settings: Settings) -> None:
    """Give a session the settings of the application whose work it does: a request's
    (``kit.deps.get_session``, ``request.app.state.settings``) or a job's (``kit.jobs.JobRunner``)."""
    session.info[SESSION_SETTINGS] = settings


def settings_of(session: Session) -> Settings:
    """The running application's settings for work done in ``session`` (a request's or a job's); a
    session that was given none (the CLI's) has this process's."""
    found: Settings | None = session.info.get(SESSION_SETTINGS)
    return found if found is not None else get_settings()


def clock_skew(session: Session) -> timedelta:
    """How far ahead of our clock another system's may run (``NEIGOU_CLOCK_SKEW_SECONDS``): the future-time
    check allows an instant up to it, so a change that prices orders is dated no earlier than now plus it
    (an order already taken may carry a ``paid_at`` that far ahead)."""
    return timedelta(seconds=settings_of(session).clock_skew_seconds)
