"""The console's opt-out page: sign-in required, the form, the result per kind, the history, errors."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.privacy.models import OptOut
from neigou.web.app import create_app
from tests.conftest import page_client, row_counts
from tests.factories import create_program
from tests.privacy.builders import SHOPPER, build, traces
from tests.sign_in import console_sign_in


def _request_id(page: str) -> str:
    found = re.search(r'name="request_id" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_page_needs_an_operator(client: TestClient) -> None:
    response = client.get("/console/privacy", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/privacy"


def test_an_operator_opts_a_shopper_out_from_the_console(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    build(client, app, operator, factory)
    console_sign_in(client, factory, next_page="/console")
    page = client.get("/console/privacy")
    assert page.status_code == 200
    assert 'data-testid="nav-privacy"' in page.text
    assert "用户注销（个人信息保护法）" in page.text
    assert "还没有注销记录" in page.text
    request_id = _request_id(page.text)
    form = {"customer_ref": f" {SHOPPER} ", "program_id": "", "request_id": request_id, "confirm": "yes"}
    done = client.post("/console/privacy", data=form, follow_redirects=False)
    assert done.status_code == 303
    with factory() as session:
        opt_out = session.scalars(select(OptOut)).one()
    assert done.headers["location"] == f"/console/privacy?done={opt_out.id}"
    assert (opt_out.request_id, opt_out.actor_kind) == (request_id, "operator")
    assert set(traces(factory).values()) == {0}
    result = client.get(done.headers["location"])
    assert f"已完成注销 #{opt_out.id}" in result.text
    assert re.search(r'data-kind="touches"><td>归因足迹</td><td class="num">3</td>', result.text)
    assert re.search(r'data-kind="orders"><td>订单</td><td class="num">1</td>', result.text)
    assert SHOPPER not in result.text
    # Submitting the same form again (a reload, a double click) erases nothing more.
    before = row_counts(factory)
    again = client.post("/console/privacy", data=form, follow_redirects=False)
    assert again.headers["location"] == f"/console/privacy?done={opt_out.id}&replayed=1"
    assert row_counts(factory) == before
    english = client.get(f"/console/privacy?done={opt_out.id}&replayed=1&lang=en")
    assert "Shopper opt-out (PIPL)" in english.text
    assert "This request was handled before" in english.text
    assert 'data-testid="opt-out-row"' in english.text


def test_the_console_refuses_incomplete_forms_and_writes_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory, next_page="/console")
    before = row_counts(factory)
    cases = [
        ({"customer_ref": "  ", "confirm": "yes"}, 422, "请输入顾客标识。"),
        ({"customer_ref": SHOPPER}, 422, "请勾选确认后再提交。"),
        ({"customer_ref": SHOPPER, "confirm": "yes", "program_id": "abc"}, 422, "所选计划无效。"),
        ({"customer_ref": SHOPPER, "confirm": "yes", "program_id": "999"}, 404, "该计划不存在"),
    ]
    for form, status, message in cases:
        response = client.post("/console/privacy", data={"request_id": "console-abcdefgh12", **form})
        assert response.status_code == status, form
        assert message in response.text
        assert 'data-testid="privacy-error"' in response.text
    assert row_counts(factory) == before


def test_opt_outs_are_listed_in_their_programs_zone_or_the_deployments_default(
    settings: Settings, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Not in a fixed Asia/Shanghai: an opt-out of one program at its program's time, one of every
    program in the zone the application's settings name (here not Shanghai's). Each is shown at its
    ``requested_at``, the later of its ``at`` and when it was recorded (here the recording)."""
    app = create_app(
        settings.model_copy(update={"default_timezone": "America/New_York"}), session_factory=factory
    )
    with page_client(app) as client:
        tokyo = create_program(client, operator, code="tokyo", timezone="Asia/Tokyo")
        at = "2026-03-01T12:00:00+00:00"
        for key, program_id in (("everywhere", None), ("in-tokyo", tokyo["id"])):
            body = {"customer_ref": SHOPPER, "request_id": key, "program_id": program_id, "at": at}
            made = client.post("/api/v1/privacy/opt-outs", json=body, headers=operator)
            assert made.status_code == 201, made.text
        console_sign_in(client, factory, next_page="/console")
        page = client.get("/console/privacy")
    assert page.status_code == 200
    with factory() as session:
        stored = dict(session.execute(select(OptOut.request_id, OptOut.requested_at)).tuples().all())
    expected = [
        stored["in-tokyo"].astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M"),
        stored["everywhere"].astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M"),
    ]
    shown = re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>", page.text)
    assert shown == expected  # newest first: the Tokyo one, then New York
