"""Time: stored in UTC, every time-dependent operation takes an explicit instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# Names the zone database carries that are no place's zone: ``Factory`` (a zone for unconfigured
# machines), ``localtime`` (this machine's own setting) and ``posixrules``; ``posix/`` and ``right/``
# repeat every zone, ``right/`` counting leap seconds into its clock.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
_NOT_ZONE_PREFIXES = ("posix/", "right/")


def utcnow() -> datetime:
    """The current instant, zone-aware (UTC)."""
    return datetime.now(UTC)


def not_before_now(at: datetime, *, now: datetime | None = None) -> datetime:
    """``at``, or now when ``at`` has passed: a time in the past means now (a send, a retry or a post
    dated before the clock happens, and is dated, when it is made). ``now`` is the clock's reading
    (``utcnow``) unless given: a test pins one module's clock by giving it
    (``monkeypatch.setattr(module, "not_before_now", partial(not_before_now, now=…))``)."""
    return max(at, utcnow() if now is None else now)


def ensure_aware(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are refused, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a time zone")
    return value.astimezone(UTC)


def local_date(at: datetime, zone: str) -> date:
    """The calendar date at instant ``at`` in ``zone`` (a program's, an IANA name): the day its people
    call today, which is not the UTC date for part of every day."""
    return ensure_aware(at).astimezone(ZoneInfo(zone)).date()


def as_utc(value: datetime) -> datetime:
    """Normalise a value read back from the database (SQLite returns naive UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@cache
def zone_names() -> frozenset[str]:
    """The IANA names a program or organization may keep (read once: the list never changes in a process):
    the tz database's zones and its links (``PRC``, ``US/Pacific``, the older names it keeps for them)."""
    return frozenset(
        name
        for name in available_timezones()
        if name not in _NOT_ZONES and not name.startswith(_NOT_ZONE_PREFIXES)
    )


def is_valid_timezone(name: str) -> bool:
    """True when ``name`` is an IANA time zone name (``Asia/Shanghai``, ``UTC``, or a link such as ``PRC``).

    ``ZoneInfo`` loads more: ``Factory``, ``localtime``, ``posix/…`` and ``right/…`` (whose clock counts
    leap seconds) are files of the zone database, not zones a program's days may be cut by.
    """
    return name in zone_names()
