"""A robot call that fails keeps the robot's key and the call's signature out of everything it leaves:
an answer of 500 that echoes the call (the key right at the cut of the kept detail), an answer that
echoes a shopper's phone number (taken out as the logs take it out), a refused
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
from neigou.kit.logging import REDACTED
from tests.echo_server import echo_server
from tests.factories import create_member, create_program
from tests.feed.conftest import app_sealer, app_settings
from tests.groups.builders import FIELD_SCHEDULE, create_group, post_count, put_targets
from tests.sign_in import console_sign_in

KEY = "k3y0f7h3r0b07"
PATH = f"/cgi-bin/webhook/send?key={KEY}"
SECRET = "alert-signing-secret"
AT = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
KEPT = 500  # characters of a robot's answer kept (the detail columns' length)
# Padding that puts the key's first characters at the end of the detail kept.
AT_THE_CUT = KEPT - len(f"nobody answers at {PATH}") + len(KEY) - 4


def _clean(text: str, *secrets: str) -> None:
    assert KEY[:4] not in text, text
    for secret in secrets:
        assert secret not in text, text


def _sign(path: str) -> str:
    return path.rsplit("&sign=", 1)[1]


def test_an_echoed_key_is_taken_out_before_the_detail_is_cut() -> None:
    with echo_server(pad=AT_THE_CUT) as echo:
        outcome = webhook.send_markdown(echo.base + PATH, "hi", secret=None, at=AT)
    assert (outcome.ok, outcome.http_status) == (False, 500)
    assert len(outcome.detail) <= KEPT
    # as the logs write it: the key's marker cut, never the key
    assert outcome.detail == ("x" * AT_THE_CUT + f"nobody answers at {PATH.replace(KEY, REDACTED)}")[:KEPT]
    _clean(outcome.detail)


def test_a_signed_call_keeps_neither_key_nor_signature() -> None:
    with echo_server() as echo:
        outcome = webhook.send_markdown(echo.base + PATH, "hi", secret=SECRET, at=AT)
    assert "&sign=" in echo.paths[0]
    _clean(outcome.detail, _sign(echo.paths[0]), SECRET)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, text="x" * (KEPT - 20) + " unknown user 13812345678"),  # at the cut
        httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid userid +86 138 1234 5678"}),
    ],
)
def test_a_phone_number_the_robot_echoes_is_taken_out_before_the_detail_is_cut(
    answer: httpx.Response,
) -> None:
    """A shopper's phone number in the robot's answer is redacted as the logs redact it, and before
    the cut, so that no part of it is left at the end of the detail kept."""
    outcome = webhook.send_markdown(
        "https://qyapi.weixin.qq.com" + PATH,
        "hi",
        secret=None,
        at=AT,
        transport=httpx.MockTransport(lambda _: answer),
    )
    assert not outcome.ok
    assert len(outcome.detail) <= KEPT
    assert "1381" not in outcome.detail.replace(" ", ""), outcome.detail
    assert "1234" not in outcome.detail


def test_a_refused_connection_and_a_timeout_keep_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nobody listens once the socket is closed
    refused = webhook.send_markdown(f"http://127.0.0.1:{closed}{PATH}", "hi", secret=SECRET, at=AT)
    assert (refused.ok, refused.detail.split(":")[0]) == (False, "ConnectError")
    _clean(refused.detail)
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.2)
    with echo_server(delay=1.0) as echo:
        timed_out = webhook.send_markdown(echo.base + PATH, "hi", secret=SECRET, at=AT)
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
    assert outcome.detail.startswith("ConnectError: cannot connect to https://qyapi.weixin.qq.com")
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
    assert "nobody answers at /cgi-bin/webhook/send?key=[red" in stored
    console_sign_in(client, factory)
    page = client.get(
        f"/console/programs/{program['id']}/groups", params={"date": "2026-03-24", "view": "alerts"}
    )
    assert page.status_code == 200
    assert "nobody answers at" in page.text
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
        assert (delivery.detail or "").startswith("InvalidURL")
        _clean(delivery.detail or "")
