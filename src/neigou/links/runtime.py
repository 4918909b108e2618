"""The links domain's moving parts in a process: click recorder (and its writer process or stream
consumer), code cache, Redis stock gate and landing-page rate limits; the app starts them in its
lifespan and stops them on shutdown (the recorder's last flush happens there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.kit.streams import namespace, stop_together
from neigou.links.cache import LinkCache
from neigou.links.claim_stream import ClaimWriter
from neigou.links.click_stream import StreamConsumer, click_sink
from neigou.links.click_writer import ClickWriterProcess
from neigou.links.clicks import ClickRecorder, ClickSink
from neigou.links.ratelimit import ClaimLimiter
from neigou.links.stock_gate import StockGate


@dataclass
class LinksRuntime:
    """Everything the redirect, landing page and claims need beyond a session."""

    clicks: ClickRecorder
    cache: LinkCache
    limiter: ClaimLimiter
    gate: StockGate | None = None
    consumer: StreamConsumer | None = None
    redis: redis.Redis | None = None
    writer: ClickWriterProcess | None = None
    claims: ClaimWriter | None = None

    @classmethod
    def from_settings(cls, settings: Settings, factory: sessionmaker[Session]) -> LinksRuntime:
        """Database-only by default; clicks, stock and rate limits on Redis when it is configured.

        With the ``process`` click writer, the stream's consumer runs in the writer process too.
        """
        client = redis.Redis.from_url(settings.redis_client_url) if settings.redis_client_url else None
        writer: ClickWriterProcess | None = None
        sink: ClickSink
        consumer: StreamConsumer | None = None
        if settings.click_writer == "process":
            sink = writer = ClickWriterProcess(settings.database_url, settings.redis_client_url)
        else:
            sink, consumer = click_sink(factory, settings.database_url, client)
        if client is None:
            return cls(
                clicks=ClickRecorder(sink, interval=settings.click_flush_seconds),
                cache=LinkCache(factory),
                limiter=ClaimLimiter(),
                writer=writer,
            )
        gate = StockGate(client, namespace(settings.database_url), write_behind=True)
        assert gate.stream is not None
        return cls(
            clicks=ClickRecorder(sink, interval=settings.click_flush_seconds),
            cache=LinkCache(factory),
            limiter=ClaimLimiter.for_redis(
                settings.redis_client_url, namespace=namespace(settings.database_url) + ":claim"
            ),
            gate=gate,
            claims=ClaimWriter(client, gate.stream, factory),
            consumer=consumer,
            redis=client,
            writer=writer,
        )

    def start(self) -> None:
        """Start the writer process (or the stream consumer) and the flusher."""
        if self.writer is not None:
            self.writer.start()
        self.clicks.start()
        if self.consumer is not None:
            self.consumer.start()
        if self.claims is not None:
            self.claims.start()

    def flush(self) -> int:
        """Write every buffered click to the database now (through the stream when there is one)."""
        written = self.clicks.flush()
        if self.consumer is not None:
            written = self.consumer.drain()
        elif self.writer is not None and self.redis is not None:
            written = self.writer.drain()
        if self.claims is not None:
            self.claims.drain()
        return written

    def stops(self) -> list[Callable[[], None]]:
        """What ``stop`` does before closing the clients, as steps that may run side by side (the app
        runs them with the other domains' in ``kit.streams.stop_together``): the click buffer's last
        flush and then its stream's last drain, in that order; the claim stream's last drain."""

        def clicks() -> None:
            self.clicks.stop()
            if self.consumer is not None:
                self.consumer.stop()
            if self.writer is not None:
                self.writer.stop()

        return [clicks] if self.claims is None else [clicks, self.claims.stop]

    def close(self) -> None:
        """Close the Redis clients (after ``stops``)."""
        if self.gate is not None:
            self.gate.close()
        if self.redis is not None:
            self.redis.close()

    def stop(self) -> None:
        """Flush what is buffered, then let the consumer store what is in the stream."""
        stop_together(self.stops())
        self.close()
