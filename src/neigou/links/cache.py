"""An in-process cache of link codes, so the redirect does not query the database per request.

Entries live ``ttl`` seconds (default 5): a link disabled in another process stops redirecting
within that time, and at once in the process that disabled it (``invalidate``). Unknown codes are
cached too (for the same time), so a flood of made-up codes costs one query per code, not per hit.
The cache is bounded; when full it is cleared (codes of a viral link come straight back).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.scoping import unscoped
from neigou.links.models import ShareLink

DEFAULT_TTL_SECONDS = 5.0
MAX_ENTRIES = 100_000
_CHANGED = "neigou_link_codes_changed"
_CACHES: weakref.WeakSet[LinkCache] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class CachedLink:
    """What the redirect needs to know about a code."""

    id: int
    code: str
    program_id: int
    member_id: int
    active: bool


class LinkCache:
    """code → CachedLink (or None for unknown codes), each entry for ``ttl`` seconds."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = session_factory
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, CachedLink | None]] = {}
        self._lock = threading.Lock()
        self.loads = 0  # database lookups made, for tests and the benchmark report
        _CACHES.add(self)

    def peek(self, code: str) -> tuple[bool, CachedLink | None]:
        """(found, link) from memory only: the redirect's fast path, no I/O."""
        entry = self._entries.get(code)
        if entry is None or entry[0] < self._clock():
            return False, None
        return True, entry[1]

    def load(self, code: str, session: Session | None = None) -> CachedLink | None:
        """Look the code up in the database and remember the answer (blocking: call off the event loop):
        through ``session`` (a request's own, unscoped for the read: the cache serves every
        organization) when given, so that a request holds one connection at a time, else through a
        session of its own."""
        query = select(
            ShareLink.id, ShareLink.code, ShareLink.program_id, ShareLink.member_id, ShareLink.active
        ).where(ShareLink.code == code)
        if session is None:
            with self._factory() as own:
                row = own.execute(query).first()
        else:
            with unscoped(session):
                row = session.execute(query).first()
        link = (
            None
            if row is None
            else CachedLink(int(row[0]), str(row[1]), int(row[2]), int(row[3]), bool(row[4]))
        )
        with self._lock:
            self.loads += 1
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[code] = (self._clock() + self.ttl, link)
        return link

    def get(self, code: str, session: Session | None = None) -> CachedLink | None:
        """The link of a code, from memory when fresh, else from the database (``load``)."""
        found, link = self.peek(code)
        return link if found else self.load(code, session)

    def invalidate(self, code: str) -> None:
        """Forget a code (its link was just enabled or disabled here)."""
        with self._lock:
            self._entries.pop(code, None)


def changed(session: Session, code: str) -> None:
    """Note that a link's state changed in ``session``: every cache of this process forgets it on commit."""
    session.info.setdefault(_CHANGED, set()).add(code)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    for code in session.info.pop(_CHANGED, ()):
        for cache in list(_CACHES):
            cache.invalidate(code)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
