"""A poller's call failing in ways other than a refusal or a network error (an answer that cannot be
decoded, JSON nested past Python's stack, a malformed URL, an answer shaped oddly enough to trip the
parser) is a ``PlatformError`` like the rest, told without the app key, the secret, the signature, the
URL's query values or the answer's values, and never a raw traceback; the watermark does not move."""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms import fetchers
from neigou.platforms.fetchers import Credentials, PlatformError, Poller
from neigou.platforms.rows import Platform
from neigou.platforms.sync import watermark
from tests.orders.builders import World
from tests.platforms.stub import Stub
from tests.platforms.test_sync import NOW, _poll, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name

KEY, SECRET = "8f3e1c0a5d7b42e6", "5e0c9b1d7a2f4e83aa01"
GATEWAY = "gw-k3y-0f-the-proxy"


def _refused(factory: sessionmaker[Session], stub: Stub, integration_id: int) -> PlatformError:
    stub.url += f"?gateway_key={GATEWAY}"
    with pytest.raises(PlatformError) as failed:
        _poll(
            factory,
            stub,
            integration_id,
            Platform.JD_UNION,
            key=KEY,
            secret=SECRET,
            since=NOW - timedelta(minutes=30),
        )
    told = "".join(traceback.format_exception(failed.value))
    for value in (KEY, SECRET, GATEWAY, stub.calls[-1]["sign"]):
        assert value not in told
    assert failed.value.__cause__ is None
    assert failed.value.__context__ is None
    with factory() as session:
        assert watermark(session, integration_id, Platform.JD_UNION) is None
    return failed.value


def test_an_answer_that_cannot_be_decoded_is_a_platform_error(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    stub.headers = {"content-encoding": "gzip"}  # and a body that is not gzip
    stub.answers = [(200, {"jd_union_open_order_row_query_responce": {}})]
    failure = _refused(factory, stub, world[1])
    assert "DecodingError" in str(failure)
    assert len(stub.calls) == 1  # not retried: it would fail alike


@pytest.mark.parametrize("where", ["body", "queryResult"])
def test_json_nested_past_the_stack_is_a_platform_error(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int], where: str
) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    if where == "body":
        stub.raw = True
        stub.answers = [(200, deep)]
    else:
        stub.answers = [(200, {"jd_union_open_order_row_query_responce": {"queryResult": deep}})]
    assert "not JSON" in str(_refused(factory, stub, world[1]))


def test_a_malformed_url_is_a_platform_error_without_its_query() -> None:
    url = f"http://127.0.0.1:1/router?gateway_key={GATEWAY}&x=\x7f\n"
    with httpx.Client() as client:
        poller = Poller(Platform.PDD, Credentials(url, KEY, SECRET), NOW - timedelta(hours=1), NOW, client)
        with pytest.raises(PlatformError) as failed:
            list(poller.batches())
    told = "".join(traceback.format_exception(failed.value))
    assert "InvalidURL" in told
    for value in (KEY, SECRET, GATEWAY):
        assert value not in told
    assert (failed.value.__cause__, failed.value.__context__, poller.calls) == (None, None, 1)


STATUSES = {"0": "paid"}  # a strict parser's table, looked up with a value of the answer


def _strict(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool, str]:
    """A parser indexing the answer as documented: a key missing is a ``KeyError`` (quoting the key), a
    list where an object was expected a ``TypeError``, a text an ``AttributeError``."""
    answer = body["order_list_get_response"]
    STATUSES[answer["status"]]
    answer["meta"].items()
    return answer["order_list"], False, ""


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"buyer": "王小明", "phone": "13812345678"}, "KeyError"),
        ({"status": "13812345678", "buyer": "王小明"}, "KeyError"),
        ({"status": "0", "meta": "王小明 13812345678"}, "AttributeError"),
        ({"status": "0", "meta": {}}, "KeyError"),
        ({"status": ["13812345678"], "meta": {}}, "TypeError"),
    ],
)
def test_an_answer_that_trips_the_parser_is_a_platform_error_told_by_its_class(  # noqa: PLR0917 - fixtures and parameters
    factory: sessionmaker[Session],
    stub: Stub,
    world: tuple[World, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    answer: dict[str, Any],
    error: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setitem(fetchers.PARSERS, Platform.PDD, _strict)
    stub.answers = [(200, {"order_list_get_response": answer})]
    with pytest.raises(PlatformError) as failed:
        _poll(
            factory, stub, world[1], Platform.PDD, key=KEY, secret=SECRET, since=NOW - timedelta(minutes=30)
        )
    assert str(failed.value) == f"the answer is not of the expected shape ({error})"
    assert failed.value.__cause__ is None
    assert failed.value.__context__ is None
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "platforms.answer_unexpected" in logged
    assert error in logged
    told = "".join(traceback.format_exception(failed.value)) + logged
    for value in ("王小明", "13812345678", "order_list"):
        assert value not in told
    with factory() as session:
        assert watermark(session, world[1], Platform.PDD) is None  # the watermark does not move
    # The next run, once the platform answers in shape, reads the window and moves the watermark.
    stub.answers = [(200, {"order_list_get_response": {"status": "0", "meta": {}, "order_list": []}})]
    _poll(factory, stub, world[1], Platform.PDD, key=KEY, secret=SECRET, since=NOW - timedelta(minutes=30))
    with factory() as session:
        assert watermark(session, world[1], Platform.PDD) is not None
