"""Scans of live codes (活码), counted off the request's write path: ``GET /g/{code}`` adds one to a
counter (a Redis hash shared by every web process when Redis is configured, else this process's memory)
and the ``groups.flush_live_code_scans`` job adds them to ``live_code_groups.scans`` and
``live_codes.full_scans`` each minute, one set-based UPDATE per table, so concurrent scans never queue on
one row's lock or the database's write lock. The listings show the stored counts plus those not yet
flushed (:func:`pending`); a counter Redis cannot take is dropped and logged, never a failed page."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from functools import lru_cache
from typing import Any

import redis
import structlog
from sqlalchemy import case, update
from sqlalchemy.orm import Session

from neigou.groups.models import LiveCode, LiveCodeGroup
from neigou.kit.ids import digest, whole_number
from neigou.kit.jobs import job
from neigou.kit.settings import Settings, settings_of

FLUSH_JOB = "groups.flush_live_code_scans"
_GROUP = "g"  # a field ``g<live_code_groups.id>``: a scan sent to that group
_FULL = "f"  # a field ``f<live_codes.id>``: a scan of that code while every group was full
_memory: dict[str, Counter[str]] = {}
_lock = threading.Lock()
log = structlog.get_logger(__name__)


def _key(settings: Settings) -> str:
    """The counter of a database (the same prefix as the click stream's, so test runs never mix)."""
    return "neigou:" + digest(settings.database_url)[:10] + ":livecode-scans"


@lru_cache(maxsize=8)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _add(settings: Settings, field: str) -> None:
    key, url = _key(settings), settings.redis_client_url
    if url is None:
        with _lock:
            _memory.setdefault(key, Counter())[field] += 1
        return
    try:
        _client(url).hincrby(key, field, 1)
    except redis.RedisError as exc:
        log.warning("live_code_scan_dropped", error=type(exc).__name__)


def count_group_scan(settings: Settings, live_code_group_id: int) -> None:
    """One scan sent to the group of a live code (its ``live_code_groups`` row)."""
    _add(settings, group_field(live_code_group_id))


def count_full_scan(settings: Settings, live_code_id: int) -> None:
    """One scan of a live code while every group was full."""
    _add(settings, full_field(live_code_id))


def pending(settings: Settings) -> dict[str, int]:
    """The scans counted and not yet flushed (read only), which the listings add to the stored ones."""
    key, url = _key(settings), settings.redis_client_url
    if url is None:
        with _lock:
            return dict(_memory.get(key, Counter()))
    try:
        return _decoded(_client(url).hgetall(key))
    except redis.RedisError:
        return {}


def group_field(live_code_group_id: int) -> str:
    """The counter's field of a group of a live code."""
    return f"{_GROUP}{live_code_group_id}"


def full_field(live_code_id: int) -> str:
    """The counter's field of a live code's scans while full."""
    return f"{_FULL}{live_code_id}"


def _decoded(taken: Any) -> dict[str, int]:
    return {bytes(k).decode(): int(v) for k, v in dict(taken).items()}


def drain(settings: Settings) -> dict[str, int]:
    """The counted scans, taken (the counter is empty after)."""
    key, url = _key(settings), settings.redis_client_url
    if url is None:
        with _lock:
            return dict(_memory.pop(key, Counter()))
    pipe = _client(url).pipeline(transaction=True)
    pipe.hgetall(key)
    pipe.delete(key)
    taken, _ = pipe.execute()
    return _decoded(taken)


def _ids(counts: dict[str, int], kind: str) -> dict[int, int]:
    """The counts of one kind of field by row id (a field that names no id is left out)."""
    by_id = {}
    for field, n in counts.items():
        if field.startswith(kind) and (row_id := whole_number(field[1:])) is not None:
            by_id[row_id] = n
    return by_id


def flush(session: Session, counts: dict[str, int]) -> None:
    """Add drained counts to the tables: one UPDATE per table for every row at once."""
    groups = _ids(counts, _GROUP)
    full = _ids(counts, _FULL)
    if groups:
        session.execute(
            update(LiveCodeGroup)
            .where(LiveCodeGroup.id.in_(sorted(groups)))
            .values(scans=LiveCodeGroup.scans + case(groups, value=LiveCodeGroup.id, else_=0))
            .execution_options(synchronize_session=False)
        )
    if full:
        session.execute(
            update(LiveCode)
            .where(LiveCode.id.in_(sorted(full)))
            .values(full_scans=LiveCode.full_scans + case(full, value=LiveCode.id, else_=0))
            .execution_options(synchronize_session=False)
        )
    session.flush()


@job(FLUSH_JOB, cron={"minute": "*"})
def flush_live_code_scans(session: Session, _payload: dict[str, Any], _at: datetime) -> None:
    """Add the scans counted since the last run to the live codes' tables."""
    flush(session, drain(settings_of(session)))
