"""A poller's call failing in ways other than a refusal or a network error (an answer that cannot be
decoded, JSON nested past Python's stack, a malformed URL) is a ``PlatformError`` like the rest, told
without the app key, the secret, the signature or the URL's query values, and never a raw traceback."""

from __future__ import annotations

import traceback
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms.fetchers import Credentials, PlatformError, Poller
from neigou.platforms.rows import Platform
from neigou.platforms.sync import watermark
from tests.orders.builders import World
from tests.platforms.test_sync import NOW, Stub, _poll, stub, world

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
