"""An invitation code is read in the form it was issued in: typed full-width, or pasted with a zero-width
mark, it is the same code (a reservation and the public live page alike); its case is kept (codes are
base62); anything else in it is refused 422 ``invalid_invitation_code``, never quoted back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.schemas import invitation_code
from tests.conftest import row_counts
from tests.events.builders import SKU, add_employees, create_event, invite
from tests.factories import create_program


def _wide(code: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in code)


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def test_a_code_typed_full_width_or_with_invisible_marks_is_the_code(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = create_event(api, operator, create_program(api, operator)["id"])
    add_employees(api, operator, event_id, [{"employee_no": f"E{n}", "name": f"员工{n}"} for n in (1, 2)])
    wide, pasted = invite(api, operator, event_id, "E1", 2)
    (cased,) = invite(api, operator, event_id, "E2", 1)
    full = api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": "13800000002", "invitation_code": f"\u3000{_wide(wide)}"},
        headers=operator,
    )
    assert full.status_code == 201, full.text
    marked = f"\ufeff{pasted[:4]}\u200b{pasted[4:]}\u200d"
    with_marks = api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": "13800000003", "invitation_code": marked},
        headers=operator,
    )
    assert with_marks.status_code == 201, with_marks.text
    if cased.swapcase() != cased:  # case tells codes apart
        other_case = api.post(
            f"/api/v1/events/{event_id}/reservations",
            json={"sku": SKU, "customer_ref": "13800000004", "invitation_code": cased.swapcase()},
            headers=operator,
        )
        assert (other_case.status_code, other_case.json()["code"]) == (409, "not_invited")
    app: Any = api.app
    app.state.events.flush()  # the reservations taken behind the gate, stored
    before = row_counts(factory)
    for typed in (f"{cased}-", f"{cased[:5]} {cased[5:]}", f"{cased}①", f"é{cased}", "\u200b", "　"):
        refused = api.post(
            f"/api/v1/events/{event_id}/reservations",
            json={"sku": SKU, "customer_ref": "13800000005", "invitation_code": typed},
            headers={**operator, "Accept-Language": "en"},
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_invitation_code"), typed
        assert "letters and digits" in refused.text
        assert cased not in refused.text
    chinese = api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": "13800000005", "invitation_code": f"{cased}!"},
        headers={**operator, "Accept-Language": "zh-CN"},
    )
    assert "邀请码只由发放时的字母和数字组成" in chinese.text
    app.state.events.flush()
    assert row_counts(factory) == before


def test_the_live_page_finds_a_code_typed_full_width_or_with_marks(
    client: TestClient, operator: dict[str, str]
) -> None:
    event_id = create_event(client, operator, create_program(client, operator)["id"])
    add_employees(client, operator, event_id, [{"employee_no": "E1", "name": "李四"}])
    (code,) = invite(client, operator, event_id, "E1", 1)
    event = client.get(f"/api/v1/events/{event_id}", headers=operator)
    assert event.status_code == 200, event.text
    page = f"/e/{event.json()['code']}?invite="
    for typed in (code, _wide(code), f"{code[:3]}\u200b{code[3:]}"):
        assert 'data-testid="live-invitation"' in client.get(page + quote(typed)).text, typed
    for typed in (f"{code}-", "nosuchcode", _wide("nosuchcode")):
        assert 'data-testid="live-invitation"' not in client.get(page + quote(typed)).text, typed


def test_the_rule_folds_width_and_marks_only() -> None:
    assert invitation_code("ａＢ１２") == "aB12"
    assert invitation_code(" aB\u200b12\u00ad ") == "aB12"
    assert invitation_code("aB12") == "aB12"
    for refused in ("", " ", "\u200b", "aB-12", "a b", "①", "ß1", "ａＢ１２！"):
        assert invitation_code(refused) is None, refused
