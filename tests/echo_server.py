"""An HTTP receiver on 127.0.0.1 that refuses every POST with 500 and echoes the request's path and
query back in its answer, after ``pad`` characters, as a misconfigured robot or a proxy's error page
may: whatever the caller keeps of the answer must not keep the key in that query."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Echo:
    """The receiver; ``paths`` are the paths with query it was called at, ``delay`` seconds are waited
    before each answer (a timeout under test)."""

    def __init__(self, pad: int = 0, delay: float = 0.0) -> None:
        self.pad, self.delay = pad, delay
        self.paths: list[str] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                echo.paths.append(self.path)
                time.sleep(echo.delay)
                payload = ("x" * echo.pad + f"nobody answers at {self.path}").encode()
                try:
                    self.send_response(500)
                    self.send_header("content-type", "text/plain")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the caller gave up waiting
                    return

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def echo_server(pad: int = 0, delay: float = 0.0) -> Iterator[Echo]:
    """A running :class:`Echo`, shut down on leaving."""
    echo = Echo(pad, delay)
    thread = threading.Thread(target=echo.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield echo
    finally:
        echo.server.shutdown()
        echo.server.server_close()
        thread.join(timeout=5)
