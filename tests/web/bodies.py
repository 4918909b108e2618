"""A streamed request body that counts how much of it the server took."""

from __future__ import annotations

from collections.abc import Iterator

CHUNK = 64 * 1024


class Body:
    """A streamed request body that counts what the server took of it."""

    def __init__(self, chunks: int, *, head: bytes = b'{"code": "streamed", "name": "', tail: bytes = b'"}'):
        self.chunks = chunks
        self.head = head
        self.tail = tail
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        self.sent += len(self.head)
        yield self.head
        for _ in range(self.chunks):
            self.sent += CHUNK
            yield b"x" * CHUNK
        self.sent += len(self.tail)
        yield self.tail
