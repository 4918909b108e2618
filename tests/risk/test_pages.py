"""The console review queue: evidence and history shown, clear and confirm from the page, anonymous refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.orders import builders as orders
from tests.risk.builders import brush, cases
from tests.sign_in import console_sign_in


def test_the_queue_shows_a_case_and_confirms_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 10)
    [case] = cases(client, operator, world.program_id, "open")
    anonymous = client.get("/console/risk", follow_redirects=False)
    assert anonymous.status_code in {303, 401}
    console_sign_in(client, factory)
    page = client.get(f"/console/risk?program_id={world.program_id}")
    assert page.status_code == 200
    assert 'data-testid="risk-case"' in page.text
    assert "刷单" in page.text  # zh-CN by default
    assert "burst_orders=10" in page.text
    assert 'data-testid="risk-history"' in page.text
    english = client.get(f"/console/risk?program_id={world.program_id}&lang=en")
    assert "10 orders of at most ¥5.00 within 60 minutes" in english.text
    done = client.post(
        f"/console/risk/cases/{case['id']}/resolve",
        data={"decision": "confirm", "note": "刷单确认"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    [confirmed] = cases(client, operator, world.program_id, "confirmed")
    assert (confirmed["note"], confirmed["suspended"]) == ("刷单确认", False)
    again = client.post(f"/console/risk/cases/{case['id']}/resolve", data={"decision": "clear"})
    assert again.status_code == 409
    assert "risk-error" in again.text
    bad = client.post(f"/console/risk/cases/{case['id']}/resolve", data={"decision": "maybe"})
    assert bad.status_code == 422


def test_scan_from_the_page(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    console_sign_in(client, factory)
    scanned = client.post(
        "/console/risk/scan", data={"program_id": str(world.program_id)}, follow_redirects=False
    )
    assert scanned.status_code == 303
    assert scanned.headers["location"] == f"/console/risk?program_id={world.program_id}&opened=0"
    page = client.get(scanned.headers["location"])
    assert 'data-testid="risk-notice"' in page.text
    assert 'data-testid="risk-empty"' in page.text


def test_the_queue_is_filtered_searched_and_counted_on_the_home_page(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    brush(client, operator, world, 10)
    [case] = cases(client, operator, world.program_id, "open")
    console_sign_in(client, factory)
    home = client.get(f"/console?program={world.program_id}&lang=en").text
    held = f"¥{case['held_fen'] // 100}.{case['held_fen'] % 100:02d}"
    assert f'data-testid="queue-risk">1 · {held}<' in home
    base = f"/console/risk?program_id={world.program_id}"
    assert 'data-testid="risk-case"' in client.get(f"{base}&q={case['rule'][:4]}").text
    assert 'data-testid="risk-empty"' in client.get(f"{base}&q=no-such-rule").text
    other = "low" if case["severity"] != "low" else "high"
    assert 'data-testid="risk-empty"' in client.get(f"{base}&severity={other}").text
    shown = client.get(f"{base}&severity={case['severity']}&sort=-held")
    assert shown.status_code == 200
    assert 'data-testid="risk-case"' in shown.text
    assert 'data-testid="list-total"' in shown.text
    assert client.get(f"{base}&severity=extreme").status_code == 422
