"""The keys a program's signed click references are checked with (``links.click_signing``): the webhook
secrets of its active integrations, kept open in memory for a few seconds per program so that a signed
click costs the redirect no query while the shop's links are being followed.

An entry lives ``ttl`` seconds (default 10): an integration created or switched off in any process
signs, or stops signing, within that time. A program without such an integration is cached too (an
empty tuple), and so is one of a deleted organization. A secret sealed with a key no longer configured
is left out and logged by its integration's id, never its value. The cache is bounded; when full it is
cleared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations.models import Integration
from neigou.kit.sealed import Sealer
from neigou.organizations.models import Organization
from neigou.programs.models import Program

DEFAULT_TTL_SECONDS = 10.0
MAX_ENTRIES = 10_000
log = structlog.get_logger(__name__)


class ClickKeys:
    """program id → the open webhook secrets of its active integrations, each entry for ``ttl`` seconds."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sealer: Sealer,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = session_factory
        self._sealer = sealer
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[int, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self.loads = 0  # database lookups made, for tests

    def peek(self, program_id: int) -> tuple[str, ...] | None:
        """The program's keys from memory only (no I/O), or None when not cached or stale."""
        entry = self._entries.get(program_id)
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def load(self, program_id: int) -> tuple[str, ...]:
        """Read and open the program's keys and remember them (blocking: call off the event loop). One
        query, on a session of its own, unscoped: the redirect serves every organization."""
        query = (
            select(Integration.id, Integration.inbound_secret_sealed)
            .join(Program, Program.id == Integration.program_id)
            .join(Organization, Organization.id == Program.organization_id)
            .where(
                Integration.program_id == program_id,
                Integration.active.is_(True),
                Organization.deleted_at.is_(None),
            )
            .order_by(Integration.id)
        )
        with self._factory() as session:
            rows = session.execute(query).all()
        keys: list[str] = []
        for integration_id, sealed in rows:
            secret = self._sealer.unseal(sealed)
            if secret is None:
                log.warning("integrations.click_key_unopened", integration_id=integration_id)
            else:
                keys.append(secret)
        opened = tuple(keys)
        with self._lock:
            self.loads += 1
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[program_id] = (self._clock() + self.ttl, opened)
        return opened

    def get(self, program_id: int) -> tuple[str, ...]:
        """The program's keys, from memory when fresh, else from the database (``load``)."""
        found = self.peek(program_id)
        return found if found is not None else self.load(program_id)
