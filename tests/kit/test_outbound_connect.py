"""A call connects only to a public address of those its host resolved to (``kit.bounded_http``): the
address judged is the one connected to, from the same resolution (a name that resolves to 127.0.0.1
is refused, DNS rebinding gains nothing); a call whose every address is refused connects nowhere and
fails with the same fixed summary whether a port is open there or not, so a delivery log is no port
scanner; ``allow_private`` (``NEIGOU_OUTBOUND_ALLOW_PRIVATE``) lets a relay on 127.0.0.1 be called.
No call here leaves the machine: resolution is stubbed, and so is the socket of a public address."""

from __future__ import annotations

import socket
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpcore
import httpx
import pytest

from neigou.groups import webhook
from neigou.kit import bounded_http
from neigou.kit.attempts import ADDRESS_NOT_ALLOWED, refusal_note
from neigou.kit.bounded_http import AddressNotAllowed, BoundedBackend
from neigou.kit.i18n import Message, translate
from tests.robots import running

pytestmark = pytest.mark.no_database

AT = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
PATH = "/cgi-bin/webhook/send?key=robot-key"


def _resolved(*addresses: tuple[str, int]) -> Any:
    """A stand-in for ``bounded_http.resolve`` answering ``addresses`` for any name."""

    def resolve(_host: str, _port: int, *, deadline: float) -> list[tuple[Any, ...]]:
        del deadline
        return [
            (socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, port))
            for host, port in addresses
        ]

    return resolve


class _Socket:
    """A socket that records where it was asked to connect; ``refusing`` addresses refuse it."""

    connected: ClassVar[list[tuple[str, int]]] = []
    refusing: ClassVar[set[str]] = set()

    def __init__(self, *_args: Any) -> None:
        self.closed = False

    def setsockopt(self, *_args: Any) -> None:
        return None

    def settimeout(self, _timeout: float) -> None:
        return None

    def connect(self, address: tuple[str, int]) -> None:
        _Socket.connected.append(address)
        if address[0] in _Socket.refusing:
            raise ConnectionRefusedError(111, "Connection refused")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def stub_sockets(monkeypatch: pytest.MonkeyPatch) -> type[_Socket]:
    """``bounded_http``'s sockets replaced by :class:`_Socket` (no connection leaves the machine)."""
    _Socket.connected, _Socket.refusing = [], set()
    fake = types.SimpleNamespace(
        socket=_Socket, IPPROTO_TCP=socket.IPPROTO_TCP, TCP_NODELAY=socket.TCP_NODELAY
    )
    monkeypatch.setattr(bounded_http, "socket", fake)
    return _Socket


def _connect(backend: BoundedBackend, host: str = "relay.example", port: int = 443) -> httpcore.NetworkStream:
    return backend.connect_tcp(host, port, timeout=1.0)


def _backend(*, allow_private: bool = False) -> BoundedBackend:
    return BoundedBackend(time.monotonic() + 5, allow_private=allow_private)


def test_a_public_address_is_connected_to(
    monkeypatch: pytest.MonkeyPatch, stub_sockets: type[_Socket]
) -> None:
    monkeypatch.setattr(bounded_http, "resolve", _resolved(("8.8.8.8", 443)))
    stream = _connect(_backend())
    assert stub_sockets.connected == [("8.8.8.8", 443)]
    stream.close()


def test_only_the_public_addresses_of_a_resolution_are_connected_to(
    monkeypatch: pytest.MonkeyPatch, stub_sockets: type[_Socket]
) -> None:
    """A name answering a private address first and a public one after: the private one is skipped,
    never connected to, whatever the order."""
    resolution = _resolved(
        ("127.0.0.1", 443), ("169.254.169.254", 443), ("::1", 443), ("2606:4700::1111", 443)
    )
    monkeypatch.setattr(bounded_http, "resolve", resolution)
    _connect(_backend()).close()
    assert stub_sockets.connected == [("2606:4700::1111", 443)]


def test_a_refused_public_address_is_a_connect_error_not_an_address_refusal(
    monkeypatch: pytest.MonkeyPatch, stub_sockets: type[_Socket]
) -> None:
    monkeypatch.setattr(bounded_http, "resolve", _resolved(("10.0.0.5", 443), ("8.8.8.8", 443)))
    stub_sockets.refusing = {"8.8.8.8"}
    with pytest.raises(httpcore.ConnectError) as raised:
        _connect(_backend())
    assert not isinstance(raised.value, AddressNotAllowed)
    assert stub_sockets.connected == [("8.8.8.8", 443)]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
    ],
)
def test_a_name_resolving_only_to_private_addresses_connects_nowhere(
    monkeypatch: pytest.MonkeyPatch, stub_sockets: type[_Socket], address: str
) -> None:
    monkeypatch.setattr(bounded_http, "resolve", _resolved((address, 443)))
    with pytest.raises(AddressNotAllowed):
        _connect(_backend())
    assert stub_sockets.connected == []


def test_allowing_private_addresses_connects_to_them(
    monkeypatch: pytest.MonkeyPatch, stub_sockets: type[_Socket]
) -> None:
    monkeypatch.setattr(bounded_http, "resolve", _resolved(("127.0.0.1", 8080)))
    _connect(_backend(allow_private=True)).close()
    assert stub_sockets.connected == [("127.0.0.1", 8080)]


@contextmanager
def _listening() -> Iterator[socket.socket]:
    """A listening socket on 127.0.0.1 that nobody accepts from (non-blocking: ``accept`` tells)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield listener


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nobody listens once the socket is closed


def test_a_name_resolving_to_loopback_is_refused_the_same_whether_its_port_is_open_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a public-looking name that resolves to 127.0.0.1 when the call is made."""
    with _listening() as listener:
        open_port = listener.getsockname()[1]
        monkeypatch.setattr(bounded_http, "resolve", _resolved(("127.0.0.1", open_port)))
        to_open = webhook.send_markdown(f"http://rebind.example:{open_port}{PATH}", "hi", secret=None, at=AT)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    closed = _closed_port()
    monkeypatch.setattr(bounded_http, "resolve", _resolved(("127.0.0.1", closed)))
    to_closed = webhook.send_markdown(f"http://rebind.example:{closed}{PATH}", "hi", secret=None, at=AT)
    assert to_open == to_closed
    assert (to_open.ok, to_open.http_status, to_open.detail) == (False, None, ADDRESS_NOT_ALLOWED)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "0x7f000001"])
def test_a_loopback_url_stored_before_the_check_fails_its_attempt_unless_allowed(host: str) -> None:
    """Resolved for real (no network: these never leave the machine)."""
    with running(1) as [robot]:
        port = robot.url.split(":")[2].split("/")[0]
        url = f"http://{host}:{port}{PATH}"
        refused = webhook.send_markdown(url, "hi", secret=None, at=AT)
        assert robot.received == []
        assert refused.detail == ADDRESS_NOT_ALLOWED
        if host != "[::1]":  # the stub listens on IPv4 only
            allowed = webhook.send_markdown(url, "hi", secret=None, at=AT, allow_private=True)
            assert (allowed.ok, allowed.detail) == (True, "ok")
            assert len(robot.received) == 1


def test_the_refusal_comes_out_of_httpx_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounded_http, "resolve", _resolved(("169.254.169.254", 80)))
    with pytest.raises(AddressNotAllowed) as raised:
        webhook.post("http://metadata.example/latest/api/token", json_body={})
    assert isinstance(raised.value, httpx.ConnectError)  # a failed attempt wherever one is caught
    assert webhook.error_of(raised.value) == ADDRESS_NOT_ALLOWED
    assert webhook.error_of(httpx.ConnectError("refused")) == "ConnectError"


def test_a_redirect_is_not_followed() -> None:
    """A receiver that answers 302 to another address is taken at its word: its status is the answer,
    the address it points to is never called (a public relay cannot hand the call to 127.0.0.1)."""
    with running(1) as [target]:

        class Redirect(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                self.send_response(302)
                self.send_header("location", target.url)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return None

        with ThreadingHTTPServer(("127.0.0.1", 0), Redirect) as relay:
            thread = threading.Thread(target=relay.serve_forever, daemon=True)
            thread.start()
            try:
                url = f"http://127.0.0.1:{relay.server_address[1]}{PATH}"
                answer = webhook.post(url, json_body={}, allow_private=True)
            finally:
                relay.shutdown()
                thread.join(5)
    assert answer.status_code == 302
    assert target.received == []


def test_the_refusal_is_told_in_the_readers_language() -> None:
    note = refusal_note(ADDRESS_NOT_ALLOWED)
    assert isinstance(note, Message)
    assert translate(note, "zh-CN") == "未发送：该地址不是公网地址"
    assert translate(note, "en") == "not sent: the address is not a public Internet address"
