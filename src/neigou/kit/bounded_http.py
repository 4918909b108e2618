"""An HTTP transport whose every wait ends by one monotonic deadline: a call made through it is over
(answered, or failed with a timeout) by then, however slowly its host name resolves or the other side
trickles its bytes.

httpx has no total timeout: its timeouts are per step, and a read's starts again with every byte, so a
receiver that answers one byte at a time holds a call without end. Here each blocking step waits at most
its own timeout and never past the deadline:

* the host name is resolved on a thread of its own, waited for until the deadline at most (a lookup
  cannot be interrupted; one that outlives the deadline is left to finish on its thread, and its answer
  is dropped: nothing is sent after it);
* each connection attempt, the TLS handshake (CPython bounds a whole handshake by the socket's timeout),
  each ``send`` of a write and each ``recv`` of a read is given the time left, and none starts once the
  deadline has passed (``httpcore.ConnectTimeout``, ``WriteTimeout``, ``ReadTimeout``, which httpx
  raises as its own timeouts).

Proxies from the environment are not used (a transport of one's own turns them off in httpx).

Only public addresses are connected to (``kit.addresses.public_address``), unless the deployment allows
private ones (``NEIGOU_OUTBOUND_ALLOW_PRIVATE``, for a relay on its own network): each address the
resolution returned is judged before it is connected to, and only one that passed is, so the check and
the connection use the same answer (a name that resolves to a public address when a URL is configured
and to ``127.0.0.1`` when it is called is refused). A call whose every address was refused raises
:class:`AddressNotAllowed` before connecting anywhere: the same error whether a port is open there or
not, so what a delivery log shows tells nothing about the host's network. Redirects are never followed
(httpx's default, kept by every caller).
"""

from __future__ import annotations

import functools
import select
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterable

import httpcore
import httpx

from neigou.kit.addresses import public_text

SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
Failure = type[httpcore.TimeoutException] | type[httpcore.NetworkError]


def _left(deadline: float, timeout: float | None, late: type[httpcore.TimeoutException]) -> float:
    """The seconds a step may wait: its own ``timeout`` and never past ``deadline``; ``late`` when none are left."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


def resolve(host: str, port: int, *, deadline: float) -> list[tuple[typing.Any, ...]]:
    """``getaddrinfo`` for a TCP connection to ``host``, waited for until ``deadline`` at most."""
    found: list[list[tuple[typing.Any, ...]] | Exception] = []

    def lookup() -> None:
        try:
            found.append(list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))
        except (OSError, UnicodeError) as exc:
            found.append(exc)

    thread = threading.Thread(target=lookup, name="resolve", daemon=True)
    thread.start()
    thread.join(_left(deadline, None, httpcore.ConnectTimeout))
    if not found:
        raise httpcore.ConnectTimeout(f"{host} was not resolved by the call's deadline")
    if isinstance(found[0], Exception):
        raise httpcore.ConnectError(str(found[0])) from found[0]
    return found[0]


class BoundedStream(httpcore.NetworkStream):
    """A connected socket whose reads and writes end by the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def _step(
        self,
        timeout: float | None,
        late: type[httpcore.TimeoutException],
        failed: type[httpcore.NetworkError],
    ) -> _Mapped:
        self._sock.settimeout(_left(self._deadline, timeout, late))
        return _Mapped(late, failed)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with self._step(timeout, httpcore.ReadTimeout, httpcore.ReadError):
            return self._sock.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        while buffer:
            with self._step(timeout, httpcore.WriteTimeout, httpcore.WriteError):
                buffer = buffer[self._sock.send(buffer) :]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        try:
            with self._step(timeout, httpcore.ConnectTimeout, httpcore.ConnectError):
                sock = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except Exception:
            self.close()
            raise
        return BoundedStream(sock, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock  # what httpcore asks of it (the ALPN protocol chosen) it answers too
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":  # a connection kept alive that the other side closed meanwhile
            poller = select.poll()
            poller.register(self._sock, select.POLLIN)
            return bool(poller.poll(0))
        return None


class _Mapped:
    """Turns a socket's timeout into ``late`` and its other errors into ``failed`` (httpcore's errors)."""

    def __init__(self, late: Failure, failed: Failure) -> None:
        self._late, self._failed = late, failed

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object) -> None:
        if exc is None or isinstance(exc, httpcore.NetworkError | httpcore.TimeoutException):
            return
        if isinstance(exc, TimeoutError):
            raise self._late(str(exc) or "timed out") from exc
        if isinstance(exc, OSError):
            raise self._failed(str(exc)) from exc


class AddressNotAllowed(httpx.ConnectError):
    """Every address the host resolved to is one a call may not go to (not a public address): nothing
    was connected to. An httpx error, not httpcore's, so that httpx passes it on as it is (the stored
    summary tells it apart: ``groups.webhook.error_of``)."""

    def __init__(self) -> None:
        super().__init__("the host's addresses are not public ones")


class BoundedBackend(httpcore.NetworkBackend):
    """Opens TCP connections that end by ``deadline`` (resolution included), to public addresses only
    unless ``allow_private``."""

    def __init__(self, deadline: float, *, allow_private: bool = False) -> None:
        self._deadline = deadline
        self._allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        failure: OSError | None = None
        refused = False
        for family, kind, proto, _name, address in resolve(host, port, deadline=self._deadline):
            if not (self._allow_private or public_text(address[0])):
                refused = True  # judged on the address connected to, never on the name
                continue
            sock = socket.socket(family, kind, proto)
            try:
                with _Mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                    for option in socket_options or ():
                        sock.setsockopt(*option)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    if local_address is not None:
                        sock.bind((local_address, 0))
                    sock.settimeout(_left(self._deadline, timeout, httpcore.ConnectTimeout))
                    sock.connect(address)
            except httpcore.ConnectError as exc:  # refused there: the next address may take it
                sock.close()
                failure = OSError(str(exc))
                continue
            except BaseException:
                sock.close()
                raise
            return BoundedStream(sock, self._deadline)
        if refused and failure is None:
            raise AddressNotAllowed
        raise httpcore.ConnectError(str(failure) if failure else f"{host} has no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("a bounded call goes over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(self._deadline - time.monotonic(), 0)))


class BoundedTransport(httpx.HTTPTransport):
    """httpx's transport with its connections opened by :class:`BoundedBackend`: every call through it
    ends by ``deadline`` (a ``time.monotonic()`` value), and goes to a public address unless
    ``allow_private``."""

    def __init__(self, deadline: float, *, allow_private: bool = False) -> None:
        super().__init__(verify=tls_context())
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(),
            network_backend=BoundedBackend(deadline, allow_private=allow_private),
        )


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certificates verified against certifi's), made once: loading the
    certificates for every call would cost more than many a call."""
    return httpx.create_ssl_context()
