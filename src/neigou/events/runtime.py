"""The events domain's moving parts in a process: the event snapshots, and with Redis the reservation
gate, its stream writer and the leaderboard; the app starts them in its lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.gate import ReservationGate
from neigou.events.leaderboard import Leaderboard
from neigou.events.reservations import EventBook
from neigou.events.writer import ReservationWriter
from neigou.kit.settings import Settings
from neigou.kit.streams import namespace, stop_together


@lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """The process's one Redis client (its pool of connections) for the events domain at ``url``
    (``Settings.redis_client_url``): the runtime's gate, writer and leaderboard, and a full refund's note
    (``refunds``) share it, never a connection opened per use."""
    return redis.Redis.from_url(url)


@dataclass
class EventsRuntime:
    """Everything reservations and the live board need beyond a session."""

    book: EventBook
    gate: ReservationGate | None = None
    writer: ReservationWriter | None = None
    leaderboard: Leaderboard | None = None

    @classmethod
    def from_settings(cls, settings: Settings, factory: sessionmaker[Session]) -> EventsRuntime:
        """Database-only by default; gate, writer and leaderboard on Redis when it is configured."""
        if (redis_url := settings.redis_client_url) is None:
            return cls(book=EventBook(factory))
        client = redis_client(redis_url)
        gate = ReservationGate(client, namespace(settings.database_url))
        return cls(
            book=EventBook(factory),
            gate=gate,
            writer=ReservationWriter(client, gate.stream, factory),
            leaderboard=Leaderboard(client, namespace(settings.database_url)),
        )

    def start(self) -> None:
        if self.writer is not None:
            self.writer.start()

    def stops(self) -> list[Callable[[], None]]:
        """The reservation stream's last drain, to run beside the other domains' (``stop_together``)."""
        return [] if self.writer is None else [self.writer.stop]

    def stop(self) -> None:
        stop_together(self.stops())

    def flush(self) -> int:
        """Store every reservation still in the stream now (tests, shutdown)."""
        return self.writer.drain() if self.writer is not None else 0
