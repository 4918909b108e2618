"""Logs never carry secrets, and an error's traceback is short and has no local variables."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neigou.auth.models import Role
from neigou.kit.logging import REDACTED, RedactingFilter, redact_text, redact_value
from neigou.kit.phones import ascii_digits
from neigou.kit.tracebacks import SUMMARY_LIMIT
from neigou.privacy import service as privacy_service
from tests.conftest import TokenMaker, bearer

TOKEN = "ngk_9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        (f"GET /m/login?token={TOKEN} HTTP/1.1", TOKEN),
        (f"GET /x?a=1&token={TOKEN}&b=2", TOKEN),
        (f"{{'authorization': 'Bearer {TOKEN}', 'x': 1}}", TOKEN),
        (f"password='{TOKEN}'", TOKEN),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("customer 13812345678 joined", "13812345678"),
        ("customer +86 138-1234-5678 joined", "1234-5678"),
        ("customer 138 1234 5678 joined", "1234 5678"),
        ("POST /robot/send?access_key=k3y0f7h3r0b07 500", "k3y0f7h3r0b07"),
        ("POST /send?key=k&timestamp=1774404000000&sign=AG0flIxx%3D 500", "AG0flIxx"),
        ("webhook_secret=alert-signing-secret", "alert-signing-secret"),
        ("KeyError('ngt_Zx9-Yw8_Vu7Ts6')", "Zx9-Yw8_Vu7Ts6"),
        ("GET /l/k7Qm2xPa?customer_ref=%2B86%20138%201234%205678 HTTP/1.1", "1234%205678"),
        (
            "GET /l/k7Qm2xPa?a=1&customer_ref=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o HTTP/1.1",
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        ),
        ("GET /x?openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("GET /m/sign-in/ngc_Qp1-Ro2_Sn3Tm4 404", "Qp1-Ro2_Sn3Tm4"),
        ("customer 008613812345678 joined", "13812345678"),
        ("customer 0086 138-1234-5678 joined", "1234-5678"),
        ("customer +86 (138) 1234 5678 joined", "1234 5678"),
        ("customer (+86)13812345678 joined", "13812345678"),
        ("customer １３８１２３４５６７８ joined", "１２３４５６７８"),
        ("customer ＋８６ １３８－１２３４－５６７８ joined", "１２３４－５６７８"),
        ("no customer 13812345678.", "13812345678"),  # at a sentence's end
        ("GET /console/members?q=138+1234+5678 HTTP/1.1", "1234+5678"),  # a GET form's spaces
        ("GET /workspace/customers?q=%2B86%2013812345678 HTTP/1.1", "13812345678"),
        ("customer 138–1234–5678 joined", "1234–5678"),  # an en dash
        ("customer \u202a+86 138 1234 5678\u202c joined", "1234 5678"),  # copied from contacts
        ("customer 138\u200b1234\u200b5678 joined", "1234\u200b5678"),  # zero-width spaces
        ("customer 138 \u200b1234 \u200b5678 joined", "1234 \u200b5678"),  # a space and a zero-width space
        ("customer 138\u200b 1234\u200b 5678 joined", "1234\u200b 5678"),  # … the other way round
        ("GET /workspace/customers?q=138%20\u200b1234%20\u200b5678 HTTP/1.1", "1234%20\u200b5678"),
    ],
)
def test_secrets_in_text_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


def test_a_space_beside_a_zero_width_space_separates_a_phones_groups() -> None:
    """A chat app puts a zero-width space in a long digit run, beside the space someone typed: the
    number is redacted whole, as ``kit.phones`` reads it, with its prefix."""
    assert redact_text("customer 138 \u200b1234 5678 joined") == "customer [phone] joined"
    assert (
        redact_text("customer +86\u200b \u200b138\u200b 1234\u200b 5678 joined") == "customer [phone] joined"
    )


@pytest.mark.parametrize("text", ["took 1.13812345678 s", "13812345678.5 yuan", "at 1774404000000"])
def test_decimals_and_long_numbers_are_not_phones(text: str) -> None:
    assert redact_text(text) == text


def test_ordinary_text_is_kept() -> None:
    line = "order 2026-03-24T10:00:00+08:00 paid 1733212345678 fen=4990 id=12345678901234"
    assert redact_text(line) == line


def test_secret_keys_are_redacted_whatever_the_value() -> None:
    event = {
        "headers": {"Authorization": "x", "cookie": "neigou_session=abc"},
        "phone": "+8613812345678",
        "body": {"customer_ref": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    }
    assert redact_value(None, event) == {
        "headers": {"Authorization": REDACTED, "cookie": REDACTED},
        "phone": REDACTED,
        "body": {"customer_ref": REDACTED},
    }
    named = {"webhook_secret": "s", "outbound_secret": "s", "target_sealed": "gAAA", "payee_keys": "k"}
    assert redact_value(None, named) == dict.fromkeys(named, REDACTED)
    # a job's key is logged as ``run``: a field named ``key`` is a secret's, as a query's ``key=`` is
    assert (
        redact_value(None, {"job": "crm.deliver", "run": "crm.deliver@2026-03-25T10:00"})["run"] != REDACTED
    )
    assert redact_value(None, {"key": "k3y0f7h3r0b07"})["key"] == REDACTED


def test_a_called_url_logs_no_line_with_its_key(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs each request's URL at INFO; the application quiets it (its key may sit anywhere)."""
    caplog.set_level(logging.DEBUG)
    robot = "https://open.example.com/hook/k3y0f7h3r0b07?sign=AG0flIxx"
    transport = httpx.MockTransport(lambda _request: httpx.Response(500))
    with httpx.Client(transport=transport) as client:
        client.post(robot, json={})
    assert "k3y0f7h3r0b07" not in caplog.text
    assert "AG0flIxx" not in caplog.text


def test_access_log_lines_lose_their_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/m/login?token={TOKEN}", "1.1", 302),
        None,
    )
    RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage()
    assert f"token={REDACTED}" in record.getMessage()


def test_an_unhandled_error_logs_a_short_traceback_without_locals_or_token(
    app: FastAPI, capfd: pytest.CaptureFixture[str]
) -> None:
    def explode() -> None:
        bearer_in_a_local = f"Bearer {TOKEN}"  # a local that a traceback with locals would print
        raise RuntimeError(f"could not use {bearer_in_a_local}")

    app.add_api_route("/api/v1/boom", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(f"/api/v1/boom?token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    err = capfd.readouterr().err
    assert "request.failed" in err
    assert "RuntimeError" in err
    assert TOKEN not in err
    assert "bearer_in_a_local =" not in err  # no locals dump
    assert len(err.splitlines()) < 200


PHONE_FORMS = ["008613812345678", "１３８１２３４５６７８", "+86 (138) 1234-5678"]


@pytest.mark.parametrize("phone", PHONE_FORMS)
def test_a_failed_write_logs_neither_the_callers_token_nor_the_phone_it_was_sent(
    app: FastAPI,
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    phone: str,
) -> None:
    """A bug in an endpoint with a bearer token and a phone in the body: the traceback carries both,
    bare (a dictionary lookup's KeyError names its key); the log carries neither."""
    token = make_token(Role.OPERATOR)

    def broken(*_args: object, **kwargs: object) -> None:
        raise RuntimeError(f"could not erase {kwargs['customer_ref']}") from KeyError(token)

    monkeypatch.setattr(privacy_service, "opt_out", broken)
    body = {"customer_ref": phone, "request_id": "log-1"}
    with TestClient(app, raise_server_exceptions=False) as client:
        capfd.readouterr()
        response = client.post("/api/v1/privacy/opt-outs", json=body, headers=bearer(token))
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    err = capfd.readouterr().err
    assert "request.failed" in err
    assert "KeyError" in err  # the whole chain is logged …
    assert "RuntimeError" in err
    secret = token.removeprefix("ngt_")
    assert secret not in err  # … without the token
    assert phone not in err  # … or the number, as sent or as its digits
    assert "13812345678" not in ascii_digits(err).replace(" ", "").replace("-", "")


LOG_CUT = SUMMARY_LIMIT  # web.problems logs an unstorable value's error as its summary, cut to this length
SPLIT_SECRETS = [("13812345678", "1381234"), ("ngt_Zx9-Yw8_Vu7Ts6Rq5", "ngt_Zx9-Yw")]


@pytest.mark.parametrize(("secret", "head"), SPLIT_SECRETS)
def test_an_unstorable_value_log_cut_leaves_no_part_of_a_secret_at_the_cut(
    app: FastAPI, capfd: pytest.CaptureFixture[str], secret: str, head: str
) -> None:
    """The logged error is redacted before it is cut: a phone or a token that straddles the cut would
    otherwise leave its first characters (no longer a whole number or token) in the line."""
    lead = "Python int too large to convert to SQLite INTEGER for "
    pad = LOG_CUT - len("OverflowError: ") - len(lead) - len(" " + head)
    text = lead + "x" * pad + " " + secret
    assert f"OverflowError: {text}"[:LOG_CUT].endswith(" " + head)  # the cut splits the secret
    fragment = head.removeprefix("ngt_")

    def overflow() -> None:
        raise OverflowError(text)

    app.add_api_route("/api/overflow", overflow)
    with TestClient(app, raise_server_exceptions=False) as client:
        capfd.readouterr()
        response = client.get("/api/overflow")
    assert response.status_code == 422
    assert response.json()["code"] == "value_out_of_range"
    err = capfd.readouterr().err
    assert "request.unstorable_value" in err
    assert "xxxx" in err  # the error text is logged …
    assert fragment not in err  # … without any part of the secret


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.sqlite_only
def test_a_served_process_keeps_tokens_out_of_its_log(tmp_path: Path) -> None:
    """The real server (uvicorn's access and error logs, our structured log) greps clean of a token."""
    port = _free_port()
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "NEIGOU_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "NEIGOU_JOBS_PATH": str(tmp_path / "jobs.db"),
        "NEIGOU_CLICK_WRITER": "thread",
    }
    env.pop("NEIGOU_REDIS_URL", None)
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "neigou", "migrate"], env=env, check=True, capture_output=True)
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [bin_dir / "neigou", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60  # a loaded machine starts the server slowly
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {TOKEN}"}
            assert httpx.get(f"{base}/api/v1/programs", headers=headers).status_code == 401
            httpx.get(f"{base}/m/login?token={TOKEN}")
            httpx.get(f"{base}/api/v1/programs?token={TOKEN}")
            httpx.get(f"{base}/l/k7Qm2xPa?customer_ref=%2B86%20138%201234%205678")
            httpx.get(f"{base}/l/k7Qm2xPa?customer%5Fref=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "/m/login?token=" in text  # the access log is there …
    assert TOKEN not in text  # … without the token
    assert "/l/k7Qm2xPa?customer_ref=" in text
    assert "1234%205678" not in text  # … or a shopper's phone
    assert "/l/k7Qm2xPa?customer%5Fref=" in text
    assert "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" not in text  # … or openid, under a percent-encoded key


@pytest.mark.parametrize(
    ("path", "lang", "title"),
    [("/console/boom", "zh-CN", "内部错误"), ("/m/boom?lang=en", "en", "Internal error")],
)
def test_an_unhandled_error_on_a_page_is_a_page_in_its_language(
    app: FastAPI, capfd: pytest.CaptureFixture[str], path: str, lang: str, title: str
) -> None:
    """A page's own failure is a page (as its refusals are), its code kept, no token in it or the log."""

    def explode() -> None:
        raise RuntimeError(f"could not use Bearer {TOKEN}")

    app.add_api_route(path.partition("?")[0], explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in response.text
    assert 'data-code="internal_error"' in response.text
    assert title in response.text
    assert TOKEN not in response.text
    assert TOKEN not in capfd.readouterr().err
