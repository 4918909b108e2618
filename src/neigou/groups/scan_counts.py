"""Scans of live codes (活码), counted off the request's write path: ``GET /g/{code}`` adds one to a
counter (a Redis hash shared by every web process when Redis is configured, else this process's memory)
and the ``groups.flush_live_code_scans`` job adds them to ``live_code_groups.scans`` and
``live_codes.full_scans`` each minute, one set-based UPDATE per table, so concurrent scans never queue on
one row's lock or the database's write lock. The listings show the stored counts plus those not yet
flushed (:func:`pending`); a counter Redis cannot take is dropped and logged, never a failed page.

A flush loses nothing: it takes the counts to a processing key (:func:`_take`), which goes only once
the database committed them; a flush that fails (its transaction rolled back) leaves them there, and
the next flush adds them with the scans counted since. It may add the same scans twice in rare cases,
as the processing key is told committed only after the commit and the lease only expires: Redis failing
between the commit and the key's removal (``_finish_logged``), or a connection lost during a COMMIT the
database made (seen as rolled back), leaves the committed counts there for the flush after the lease
(:data:`LEASE_SECONDS`) to add again; and a flush outliving its lease (its transaction waiting on row
locks that long) has its counts taken and added by the next flush as well. Without Redis the counts
live in the web process's memory and go with it: an app flushes them at shutdown (:func:`flush_at_exit`),
and a process killed before that loses the scans of its last minute."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import redis
import structlog
from sqlalchemy import case, event, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups.models import LiveCode, LiveCodeGroup
from neigou.kit import commit_hooks
from neigou.kit.db import transaction
from neigou.kit.dead_letters import registered_script
from neigou.kit.ids import digest, whole_number
from neigou.kit.jobs import job
from neigou.kit.settings import Settings, settings_of, use_settings
from neigou.kit.tracebacks import error_summary

FLUSH_JOB = "groups.flush_live_code_scans"
_GROUP = "g"  # a field ``g<live_code_groups.id>``: a scan sent to that group
_FULL = "f"  # a field ``f<live_codes.id>``: a scan of that code while every group was full
_memory: dict[str, Counter[str]] = {}
_processing: dict[str, Counter[str]] = {}  # without Redis: what a flush took (or a failed one left)
_leases: dict[str, tuple[str, float]] = {}  # without Redis: the flush holding them, and until when
_lock = threading.Lock()
log = structlog.get_logger(__name__)


def _key(settings: Settings) -> str:
    """The counter of a database (the same prefix as the click stream's, so test runs never mix)."""
    return "neigou:" + digest(settings.database_url)[:10] + ":livecode-scans"


def _processing_key(key: str) -> str:
    """Where a flush holds the counts it took until its transaction ends."""
    return key + ":flushing"


def _lease_key(key: str) -> str:
    """The token of the flush holding the processing key (expiring: a killed flush frees it)."""
    return key + ":flush-lease"


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
    """The scans counted and not yet in the database (read only: the counter's and a flush's), which
    the listings add to the stored ones."""
    key, url = _key(settings), settings.redis_client_url
    if url is None:
        with _lock:
            return dict(_memory.get(key, Counter()) + _processing.get(key, Counter()))
    try:
        pipe = _client(url).pipeline(transaction=False)
        pipe.hgetall(key)
        pipe.hgetall(_processing_key(key))
        counted, taken = pipe.execute()
    except redis.RedisError:
        return {}
    return dict(Counter(_decoded(counted)) + Counter(_decoded(taken)))


def group_field(live_code_group_id: int) -> str:
    """The counter's field of a group of a live code."""
    return f"{_GROUP}{live_code_group_id}"


def full_field(live_code_id: int) -> str:
    """The counter's field of a live code's scans while full."""
    return f"{_FULL}{live_code_id}"


def _decoded(taken: Any) -> dict[str, int]:
    return {bytes(k).decode(): int(v) for k, v in dict(taken).items()}


# A flush takes the counter whole by moving it to the processing key (``RENAME``, or, when a flush that
# failed left one, adding every count to it), under a lease only one flush holds at a time; the lease
# answers whether a processing key is a failed flush's (free) or a running one's (held). Once the
# database committed, the processing key goes; on a rollback it stays, and the next flush adds it.
_TAKE = """
if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local counted = redis.call('HGETALL', KEYS[1])
if #counted > 0 then
    if redis.call('EXISTS', KEYS[2]) == 0 then
        redis.call('RENAME', KEYS[1], KEYS[2])
    else
        for i = 1, #counted, 2 do redis.call('HINCRBY', KEYS[2], counted[i], counted[i + 1]) end
        redis.call('DEL', KEYS[1])
    end
end
return redis.call('HGETALL', KEYS[2])
"""
_FINISH = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
    if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
    redis.call('DEL', KEYS[2])
end
"""
# Longer than any flush (two UPDATEs): a flush killed before it finished holds the counts this long.
LEASE_SECONDS = 300
_HOOK = "neigou_live_code_scan_flush"


@dataclass(frozen=True)
class _Taken:
    """Counts a flush took (``token`` holds the lease), given up or put back once its transaction ends."""

    settings: Settings
    token: str
    counts: dict[str, int]


def _take(settings: Settings) -> _Taken | None:
    """Every count not yet in the database (the counter's and a failed flush's), now the flush's; None
    while another flush holds them."""
    key, url, token = _key(settings), settings.redis_client_url, secrets.token_hex(8)
    if url is None:
        with _lock:
            holder = _leases.get(key)
            if holder is not None and holder[1] > time.monotonic():
                return None
            _leases[key] = (token, time.monotonic() + LEASE_SECONDS)
            taken = _processing.setdefault(key, Counter())
            taken.update(_memory.pop(key, Counter()))
            return _Taken(settings, token, dict(taken))
    client = _client(url)
    script = registered_script(client, _TAKE)
    found = script(keys=[key, _processing_key(key), _lease_key(key)], args=[token, LEASE_SECONDS * 1000])
    if found is None:
        return None
    return _Taken(settings, token, _decoded(zip(found[::2], found[1::2], strict=True)))


def _finish(taken: _Taken, *, committed: bool) -> None:
    """The taken counts gone (``committed``: they are in the database) or kept for the next flush, and
    the lease given back, unless it was lost to a later flush."""
    key, url = _key(taken.settings), taken.settings.redis_client_url
    if url is None:
        with _lock:
            if _leases.get(key, ("",))[0] == taken.token:
                del _leases[key]
                if committed:
                    _processing.pop(key, None)
        return
    client = _client(url)
    script = registered_script(client, _FINISH)
    script(keys=[_processing_key(key), _lease_key(key)], args=[taken.token, "1" if committed else "0"])


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for taken in commit_hooks.released(session, _HOOK) or ():
        _finish_logged(taken, committed=True)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    for taken in commit_hooks.rolled_back(session, _HOOK):
        _finish_logged(taken, committed=False)


def _finish_logged(taken: _Taken, *, committed: bool) -> None:
    """:func:`_finish`, a failure logged: the database's outcome stands; the lease runs out on its own,
    and after a commit the next flush then adds the counts left in the processing key again."""
    try:
        _finish(taken, committed=committed)
    except redis.RedisError as exc:
        log.error("live_code_scans.finish_failed", committed=committed, error=error_summary(exc))


def drain(settings: Settings) -> dict[str, int]:
    """The counted scans, taken (the counter, a failed flush's counts and the lease are gone after)."""
    key, url = _key(settings), settings.redis_client_url
    if url is None:
        with _lock:
            _leases.pop(key, None)
            return dict(_memory.pop(key, Counter()) + _processing.pop(key, Counter()))
    pipe = _client(url).pipeline(transaction=True)
    pipe.hgetall(key)
    pipe.hgetall(_processing_key(key))
    pipe.delete(key, _processing_key(key), _lease_key(key))
    counted, taken, _ = pipe.execute()
    return dict(Counter(_decoded(counted)) + Counter(_decoded(taken)))


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
    """Add the scans counted since the last run (and any a failed run left) to the live codes' tables."""
    flush_counted(session, settings_of(session))


def flush_counted(session: Session, settings: Settings) -> None:
    """Take the counted scans and add them in ``session``'s transaction: gone from the counter once it
    commits, kept for the next flush if it rolls back; nothing while another flush holds them."""
    taken = _take(settings)
    if taken is None:
        log.info("live_code_scans.flush_busy")
        return
    if not taken.counts:
        _finish(taken, committed=True)
        return
    commit_hooks.add(session, _HOOK, taken)
    flush(session, taken.counts)


def flush_at_exit(settings: Settings, factory: sessionmaker[Session]) -> None:
    """A web process's scans counted in its memory (no Redis), added to the database as it stops: no
    process but this one can flush them, and they would go with it. A failure is logged, never raised."""
    if settings.redis_client_url is not None:
        return
    try:
        with transaction(factory) as session:
            use_settings(session, settings)
            flush_counted(session, settings)
    except Exception as exc:
        log.error("live_code_scans.exit_flush_failed", error=error_summary(exc))
