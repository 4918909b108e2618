"""A program's settings in the console: withdrawal terms in yuan and percent, integrations with their
secrets shown once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, row_counts
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in


def test_settings_need_an_operator(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    url = f"/console/programs/{program['id']}/settings"
    assert client.get(url, follow_redirects=False).status_code == 303
    saved = client.post(f"/console/programs/{program['id']}/payout-settings", data={"min_withdrawal": "1"})
    assert saved.url.path == "/console/login"  # sent to sign in, nothing saved
    member = create_member(client, operator, program["id"], name="王芳")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    assert client.get(url, follow_redirects=False).status_code == 403
    shop = client.post(f"/console/programs/{program['id']}/integrations", data={"name": "x"})
    assert shop.status_code == 403


def test_withdrawal_terms_in_yuan_and_percent(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    console_sign_in(client, factory)
    url = f"/console/programs/{program['id']}"
    page = client.get(url + "/settings").text
    assert 'value="1"' in page  # the default minimum: ¥1
    saved = client.post(
        url + "/payout-settings",
        data={"min_withdrawal": "10", "fee_fixed": "0.5", "fee_percent": "0.6"},
        follow_redirects=False,
    )
    assert saved.headers["location"] == url + "/settings?done=payout_saved"
    terms = client.get(f"/api/v1/programs/{program['id']}/payout-settings", headers=operator).json()
    assert (terms["min_withdrawal_fen"], terms["fee_fixed_fen"], terms["fee_bp"]) == (1000, 50, 60)
    shown = client.get(saved.headers["location"]).text
    assert "提现规则已保存" in shown
    assert "¥10.00 起提" in shown
    before = row_counts(factory)
    refused = client.post(
        url + "/payout-settings", data={"min_withdrawal": "1.234", "fee_fixed": "-1", "fee_percent": "101"}
    )
    assert refused.status_code == 422
    assert 'data-testid="error-min_withdrawal"' in refused.text
    assert 'data-testid="error-fee_fixed"' in refused.text
    assert 'data-testid="error-fee_percent"' in refused.text
    assert 'value="1.234"' in refused.text  # what was typed stays
    assert row_counts(factory) == before
    assert client.get(url + "/settings?done=x").status_code == 200
    assert client.get("/console/programs/999999/settings").status_code == 404


def test_an_integration_shows_its_secrets_once_and_they_work(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    console_sign_in(client, factory)
    url = f"/console/programs/{program['id']}"
    posted = client.post(
        url + "/integrations",
        data={"name": "澜泉商城", "outbound_url": "https://shop.example/events"},
        follow_redirects=False,
    )
    assert posted.status_code == 303  # Post/Redirect/Get: the page showing the secrets is a GET
    assert posted.headers["location"].startswith(url + "/settings?shown=")
    made = client.get(posted.headers["location"])
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    inbound = re.search(r'value="([^"]+)" data-testid="inbound-secret"', made.text)
    outbound = re.search(r'value="([^"]+)" data-testid="outbound-secret"', made.text)
    assert inbound is not None
    assert outbound is not None
    assert inbound.group(1) != outbound.group(1)
    # How the shop signs a known shopper's reference on a share link with the inbound secret.
    assert 'data-testid="click-signing"' in made.text
    assert "入站密钥也用于签名" in made.text
    assert "neigou-click-v1:{code}:{ts}:{customer_ref}" in made.text
    sent = posted.headers["location"] + posted.headers["set-cookie"]
    assert inbound.group(1) not in sent
    assert outbound.group(1) not in sent
    before = row_counts(factory)
    reloaded = client.get(posted.headers["location"])  # a reload registers nothing, shows nothing
    assert 'data-testid="secrets-gone"' in reloaded.text
    assert row_counts(factory) == before
    listed = client.get(url + "/settings").text
    assert "澜泉商城" in listed
    for page in (listed, reloaded.text):
        assert inbound.group(1) not in page
        assert outbound.group(1) not in page
    api = client.get(f"/api/v1/programs/{program['id']}/integrations", headers=operator).json()
    assert [(i["name"], i["outbound_url"]) for i in api] == [("澜泉商城", "https://shop.example/events")]
    before = row_counts(factory)
    bad = client.post(url + "/integrations", data={"name": "  ", "outbound_url": "ftp://x"})
    assert bad.status_code == 422
    assert 'data-testid="error-name"' in bad.text
    assert 'data-testid="error-outbound_url"' in bad.text
    assert row_counts(factory) == before
