"""A shop's outbound URL whose path carries a credential beside punctuation (a Telegram bot's
``bot<id>:<token>``, a JWT, a matrix parameter, a percent-encoded base64 key) is shown masked everywhere:
the answer that created it, the program's list of integrations, the console's settings page and the
``integration.create`` audit entry never show the token, only the route around it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from tests.integrations.test_secret_sealing import _integration
from tests.orders.builders import build
from tests.sign_in import console_sign_in

TELEGRAM_TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
BASE64 = "c2VjcmV0LXRva2VuLXZhbHVl%2Bx%3D%3D"
RECEIVER = "https://hooks.shop.example"  # a name: not looked up when an integration is created
# The path as typed, how it is shown, and what of it must never be shown.
PATHS = [
    (f"/bot123456789:{TELEGRAM_TOKEN}/sendMessage", "/…/sendMessage", (TELEGRAM_TOKEN,)),
    (f"/in/{JWT}", "/in/…", ("eyJhbGci", "eyJzdWIi", JWT.split(".")[2])),
    ("/send;token=s3cr3tT0ken99", "/send;…", ("s3cr3tT0ken99",)),
    (f"/in/{BASE64}", "/in/…", ("c2VjcmV0LXRva2VuLXZhbHVl",)),
]


@pytest.mark.parametrize(("path", "shown", "secrets"), PATHS)
def test_a_path_credential_never_shows_in_the_api_the_console_or_the_audit_log(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    path: str,
    shown: str,
    secrets: tuple[str, ...],
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w, RECEIVER + path)
    assert shop["outbound_url"] == RECEIVER + shown
    listed = client.get(f"/api/v1/programs/{w.program_id}/integrations", headers=operator)
    assert listed.status_code == 200
    assert listed.json()[0]["outbound_url"] == RECEIVER + shown
    with factory() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "integration.create")).one()
    assert audited.after is not None
    assert audited.after["outbound_url"] == RECEIVER + shown
    console_sign_in(client, factory)
    page = client.get(f"/console/programs/{w.program_id}/settings")
    assert page.status_code == 200
    assert RECEIVER + shown in page.text
    for where in (repr(shop), listed.text, repr(audited.after), page.text):
        assert not [s for s in secrets if s in where]
