"""A robot call that fails keeps the robot's key, the call's signature and whatever the robot wrote back
out of everything it leaves (only a fixed summary is kept: ``kit.attempts.refusal``): an answer of 500
that echoes the call, an answer that echoes a shopper's name and phone number, a refused
connection, a timeout, an exception that names the URL, and a URL that cannot be sent to at all (a
failed attempt, never an exception out of the job). ``webhook.send_markdown`` is what the program's
alert robot, the group robots of the feed and live codes, and the CRM robot channel all call; the alert
is followed to its stored row, the console's page and the log."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, date, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts, webhook
from neigou.groups.models import DeliveryStatus, GroupSettings
from neigou.kit.db import transaction
from tests.echo_server import echo_server
from tests.factories import create_member, create_program
from tests.feed.conftest import app_sealer, app_settings
from tests.groups.builders import FIELD_SCHEDULE, create_group, post_count, put_targets
from tests.sign_in import console_sign_in

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

KEY = "k3y0f7h3r0b07"
PATH = f"/cgi-bin/webhook/send?key={KEY}"
SECRET = "alert-signing-secret"
AT = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
KEPT = 500  # the detail columns' length: an answer this long or longer is kept as its status only
# Padding that puts the key's first characters at the end of the detail kept.
AT_THE_CUT = KEPT - len(f"nobody answers at {PATH}") + len(KEY) - 4


def _clean(text: str, *secrets: str) -> None:
    assert KEY[:4] not in text, text
    for secret in secrets:
        assert secret not in text, text


def _sign(path: str) -> str:
    return path.rsplit("&sign=", 1)[1]


def test_an_answer_that_echoes_the_call_is_kept_as_its_status_only() -> None:
    with echo_server(pad=AT_THE_CUT) as echo:
        outcome = webhook.send_markdown(echo.base + PATH, "hi", secret=None, at=AT, allow_private=True)
    assert (outcome.ok, outcome.http_status, outcome.detail) == (False, 500, "HTTP 500")


def test_a_signed_call_keeps_neither_key_nor_signature() -> None:
    with echo_server() as echo:
        outcome = webhook.send_markdown(echo.base + PATH, "hi", secret=SECRET, at=AT, allow_private=True)
    assert "&sign=" in echo.paths[0]
    _clean(outcome.detail, _sign(echo.paths[0]), SECRET)


@pytest.mark.parametrize(
    ("answer", "ok", "kept"),
    [
        (httpx.Response(500, text="x" * (KEPT - 20) + " unknown user 张三 13812345678"), False, "HTTP 500"),
        (
            httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid userid 张三 +683 1234"}),
            False,
            "HTTP 200 errcode 40001",
        ),
        (httpx.Response(200, json={"errcode": "x", "errmsg": "张三 +852 6123 4567"}), False, "HTTP 200"),
        (httpx.Response(200, text="received 张三 13812345678"), True, "ok"),
    ],
)
def test_what_the_robot_wrote_back_is_never_kept(answer: httpx.Response, ok: bool, kept: str) -> None:
    """A robot may echo the message, and with it a shopper's name and phone: only the HTTP status and
    a numeric ``errcode`` are kept of its answer, or ``ok``."""
    outcome = webhook.send_markdown(
        "https://qyapi.weixin.qq.com" + PATH,
        "hi",
        secret=None,
        at=AT,
        transport=httpx.MockTransport(lambda _: answer),
    )
    assert (outcome.ok, outcome.detail) == (ok, kept)


def test_a_refused_connection_and_a_timeout_keep_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nobody listens once the socket is closed
    refused = webhook.send_markdown(
        f"http://127.0.0.1:{closed}{PATH}", "hi", secret=SECRET, at=AT, allow_private=True
    )
    assert (refused.ok, refused.detail.split(":")[0]) == (False, "ConnectError")
    _clean(refused.detail)
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.2)
    with echo_server(delay=1.0) as echo:
        timed_out = webhook.send_markdown(echo.base + PATH, "hi", secret=SECRET, at=AT, allow_private=True)
    assert (timed_out.ok, timed_out.detail.split(":")[0]) == (False, "ReadTimeout")
    _clean(timed_out.detail, _sign(echo.paths[0]))


def test_an_exception_that_names_the_url_keeps_no_key() -> None:
    called: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        called.append(str(request.url))
        raise httpx.ConnectError(f"cannot connect to {request.url!s} ({request.url!r})", request=request)

    outcome = webhook.send_markdown(
        "https://qyapi.weixin.qq.com" + PATH,
        "hi",
        secret=SECRET,
        at=AT,
        transport=httpx.MockTransport(refuse),
    )
    assert outcome.detail == "ConnectError"  # its class only: its message names the URL
    _clean(outcome.detail, _sign(called[0]))


@pytest.mark.parametrize("host", ["127.0.0.1:0x", "robot..example.com", "xn--.example.com"])
def test_a_url_that_cannot_be_sent_to_is_a_failed_attempt(host: str) -> None:
    outcome = webhook.send_markdown(f"http://{host}{PATH}", "hi", secret=SECRET, at=AT)
    assert (outcome.ok, outcome.http_status) == (False, None)
    _clean(outcome.detail)


def test_the_alert_robot_refusal_is_kept_shown_and_logged_without_its_key(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    program = create_program(client, operator, code="echo")
    put_targets(client, operator, program["id"], FIELD_SCHEDULE)
    owner = create_member(client, operator, program["id"], name="群主")
    behind = create_group(client, operator, owner["id"], name="落后群")
    post_count(client, operator, behind["id"], 230, "2026-03-24T21:00:00+08:00")
    caplog.set_level(logging.DEBUG)
    with echo_server(pad=AT_THE_CUT) as echo:
        settings = {"webhook_url": echo.base + PATH, "webhook_secret": SECRET}
        saved = client.put(
            f"/api/v1/programs/{program['id']}/group-settings", json=settings, headers=operator
        )
        assert saved.status_code == 200, saved.text
        with transaction(factory) as session:
            delivery = alerts.deliver_alert(
                session, program_id=program["id"], on=date(2026, 3, 24), at=AT, settings=app_settings(client)
            )
            assert (delivery.status, delivery.http_status) == (DeliveryStatus.FAILED, 500)
            stored = delivery.detail or ""
    assert stored == "HTTP 500"
    console_sign_in(client, factory)
    page = client.get(
        f"/console/programs/{program['id']}/groups", params={"date": "2026-03-24", "view": "alerts"}
    )
    assert page.status_code == 200
    assert "对方返回 HTTP 500" in page.text  # the status, told in the page's language
    assert "nobody answers at" not in page.text
    english = client.get(
        f"/console/programs/{program['id']}/groups",
        params={"date": "2026-03-24", "view": "alerts", "lang": "en"},
    )
    assert "the receiver answered HTTP 500" in english.text
    shown = client.get(f"/api/v1/programs/{program['id']}/group-settings", headers=operator).text
    logged = capsys.readouterr()
    sign = _sign(echo.paths[0])
    for text in (stored, page.text, shown, logged.out + logged.err, caplog.text):
        _clean(text, sign, SECRET)


def test_an_alert_robot_url_that_cannot_be_sent_to_is_refused_and_one_stored_before_fails_the_delivery(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="badport")
    put_targets(client, operator, program["id"], FIELD_SCHEDULE)
    owner = create_member(client, operator, program["id"], name="群主")
    behind = create_group(client, operator, owner["id"], name="落后群")
    post_count(client, operator, behind["id"], 230, "2026-03-24T21:00:00+08:00")
    bad = f"https://qyapi.weixin.qq.com:0x{PATH}"
    path = f"/api/v1/programs/{program['id']}/group-settings"
    refused = client.put(path, json={"webhook_url": bad}, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "unsendable_url")
    assert refused.json()["field"] == "webhook_url"
    _clean(refused.text)
    # One stored before URLs were checked on input: the delivery fails, the job does not.
    saved = client.put(path, json={"webhook_url": f"https://qyapi.weixin.qq.com{PATH}"}, headers=operator)
    assert saved.status_code == 200, saved.text
    with transaction(factory) as session:
        session.execute(
            update(GroupSettings)
            .where(GroupSettings.program_id == program["id"])
            .values(webhook_url_sealed=app_sealer(client).seal(bad))
        )
    with transaction(factory) as session:
        delivery = alerts.deliver_alert(
            session, program_id=program["id"], on=date(2026, 3, 24), at=AT, settings=app_settings(client)
        )
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
        assert delivery.detail == "InvalidURL"
        _clean(delivery.detail or "")
