"""A server that accepts connections and never answers: a Redis that hangs (a stalled host, a full
network buffer, a proxy whose backend died). Closing it closes every connection it accepted, so a
client still waiting on one (without a timeout) is let go."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silent_redis() -> Iterator[str]:
    """The URL of a Redis that never answers, open while the block runs."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    server.settimeout(0.1)  # the accepting thread looks at ``closing`` this often
    accepted: list[socket.socket] = []
    closing = threading.Event()

    def accept() -> None:
        while not closing.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=accept, name="silent-redis", daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        closing.set()
        thread.join(5)
        server.close()
        for conn in accepted:
            conn.close()


def finishes(work: threading.Thread, seconds: float) -> bool:
    """Whether a started thread ends within ``seconds``."""
    work.join(seconds)
    return not work.is_alive()
