"""Every API write that takes a time where money or stock moves refuses one ahead of the clock.

The OpenAPI schema is walked for every ``date-time`` field of a POST, PUT or PATCH (its body, nested
objects and lists included, and its parameters). Each one is either in ``AHEAD``, a time that may lie
ahead, with the reason, or in ``REFUSED``, with the code its refusal carries: a new field is in neither
and fails the first test until someone decides. Each refused field is then sent, eight days ahead, in
the authorization matrix's valid call of its route: 422 with that code and nothing written. A refused
field that a person gives (``UNTIL_NOW``) counts as now within the clock skew: never stored ahead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.authz.matrix import World, _filled
from tests.authz.world import world  # noqa: F401 - the matrix's world fixture
from tests.conftest import bearer, row_counts
from tests.openapi_times import WRITES, Field, matrix_case, request_times, with_field

pytestmark = pytest.mark.world_per_module


# Times that may lie ahead: none of them moves money or stock when it is given.
AHEAD: dict[Field, str] = {
    ("POST", "/api/v1/programs/{program_id}/members", "joined_at"): (
        "a member may be recorded before joining (docs/groups.md, owner_not_joined)"
    ),
    ("POST", "/api/v1/coupons", "starts_at"): "a coupon's window is planned ahead",
    ("POST", "/api/v1/coupons", "ends_at"): "a coupon's window is planned ahead",
    ("PATCH", "/api/v1/coupons/{coupon_id}", "ends_at"): "a coupon's window is planned ahead",
    ("POST", "/api/v1/promotions", "starts_at"): "a promotion's window is planned ahead",
    ("POST", "/api/v1/promotions", "ends_at"): "a promotion's window is planned ahead",
    ("PATCH", "/api/v1/promotions/{promotion_id}", "ends_at"): "a promotion's window is planned ahead",
    ("POST", "/api/v1/events", "starts_at"): "an event is scheduled ahead",
    ("POST", "/api/v1/events", "ends_at"): "an event is scheduled ahead",
    ("POST", "/api/v1/campaigns", "starts_at"): "a campaign's window is planned ahead",
    ("POST", "/api/v1/campaigns", "ends_at"): "a campaign's window is planned ahead",
    ("PATCH", "/api/v1/campaigns/{campaign_id}", "starts_at"): "a campaign's window is planned ahead",
    ("PATCH", "/api/v1/campaigns/{campaign_id}", "ends_at"): "a campaign's window is planned ahead",
    ("POST", "/api/v1/quotes", "at"): "a quote prices a basket at a moment and writes nothing",
    ("POST", "/api/v1/members/{member_id}/posts", "at"): "posts are scheduled for a slot (docs/feed.md)",
    (
        "POST",
        "/api/v1/members/{member_id}/pushes",
        "at",
    ): "a later at schedules the push (docs/crm-pushes.md)",
}
# Times that move money or stock (or date a consent or an opt-out): refused ahead, with this code.
REFUSED: dict[Field, str] = {
    ("PUT", "/api/v1/members/{member_id}/inviter", "effective_from"): "inviter_change_in_future",
    ("POST", "/api/v1/orders", "paid_at"): "time_in_future",
    ("POST", "/api/v1/orders", "consent.at"): "time_in_future",
    ("POST", "/api/v1/orders/{external_id}/complete", "at"): "time_in_future",
    ("POST", "/api/v1/orders/{external_id}/refunds", "at"): "time_in_future",
    ("POST", "/api/v1/programs/{program_id}/settlements", "as_of"): "time_in_future",
    ("POST", "/api/v1/members/{member_id}/withdrawals", "at"): "time_in_future",
    ("POST", "/api/v1/payout-batches/{batch_id}/paid", "at"): "time_in_future",
    ("POST", "/api/v1/coupons/{coupon_id}/claims", "consent.at"): "time_in_future",
    ("POST", "/api/v1/events/{event_id}/reservations", "at"): "time_in_future",
    ("POST", "/api/v1/programs/{program_id}/risk/scan", "as_of"): "time_in_future",
    ("POST", "/api/v1/members/{member_id}/customers", "consent.at"): "time_in_future",
    ("POST", "/api/v1/customers/{customer_id}/consents", "at"): "time_in_future",
    ("POST", "/api/v1/customers/{customer_id}/consents/withdrawal", "at"): "time_in_future",
    # An opt-out covers what the shopper took up to its time: one ahead would erase their claims and
    # reservations to come (docs/privacy.md).
    ("POST", "/api/v1/privacy/opt-outs", "at"): "time_in_future",
    # A count is not money, but it decides targets and alerts; refused under its documented code.
    ("POST", "/api/v1/groups/{group_id}/counts", "observed_at"): "observed_in_future",
}
# Of those, a person's action (a member's or an operator's, or a shopper's consent): within the clock
# skew ahead it counts as now (``MoneyClock.until_now``, or the domain's ``min(at, now)``), so it is
# never stored dated ahead of the server's clock. The skew is for other systems' clocks (an order's
# ``paid_at``, an integration's completion or refund); a member who dated a withdrawal a day ahead held
# up its whole payout batch (``tests/ledger/test_person_times.py``).
UNTIL_NOW: dict[Field, str] = {
    ("POST", "/api/v1/programs/{program_id}/settlements", "as_of"): "releases frozen commission",
    ("POST", "/api/v1/members/{member_id}/withdrawals", "at"): "a batch is paid no earlier than it",
    ("POST", "/api/v1/payout-batches/{batch_id}/paid", "at"): "the operator pays now",
    ("POST", "/api/v1/programs/{program_id}/risk/scan", "as_of"): "holds members' money",
    ("POST", "/api/v1/events/{event_id}/reservations", "at"): "reservations.reserve: min(at, now)",
    ("POST", "/api/v1/orders", "consent.at"): "a withdrawal of consent comes no earlier",
    ("POST", "/api/v1/coupons/{coupon_id}/claims", "consent.at"): "a withdrawal of consent comes no earlier",
    (
        "POST",
        "/api/v1/members/{member_id}/customers",
        "consent.at",
    ): "a withdrawal of consent comes no earlier",
    ("POST", "/api/v1/customers/{customer_id}/consents", "at"): "a withdrawal of consent comes no earlier",
    ("POST", "/api/v1/customers/{customer_id}/consents/withdrawal", "at"): "pushes stop now",
}


def written_times(app: FastAPI) -> set[Field]:
    """Every date-time a write of the API takes, in its body or its parameters."""
    parameters, bodies = request_times(app, WRITES)
    return parameters | bodies


def test_every_written_time_is_refused_ahead_or_allowed_ahead_for_a_reason(app: FastAPI) -> None:
    found = written_times(app)
    assert found, "no date-time fields found"
    assert not set(AHEAD) & set(REFUSED)
    undecided = found - set(AHEAD) - set(REFUSED)
    assert not undecided, (
        f"refuse these ahead (kit.instants.MoneyClockDep) or list them in AHEAD: {undecided}"
    )
    assert set(AHEAD) | set(REFUSED) <= found, "a listed field is no longer in the schema"
    assert set(UNTIL_NOW) <= set(REFUSED), "a time counted as now within the skew is refused past it"


@pytest.mark.parametrize("field", sorted(REFUSED), ids=lambda f: f"{f[0]} {f[1]} {f[2]}")
def test_a_time_ahead_is_refused_and_writes_nothing(
    client: TestClient,
    world: World,  # noqa: F811 - the fixture imported above
    factory: sessionmaker[Session],
    field: Field,
) -> None:
    method, path, name = field
    case = matrix_case(method, path)
    seed = case.body(world.ids) if callable(case.body) else case.body
    ahead = (utcnow() + timedelta(days=8)).isoformat()
    role = Role.OPERATOR if Role.OPERATOR in case.allowed else sorted(case.allowed)[0]
    before = row_counts(factory)
    answer = client.request(
        method,
        case.path.format(**world.ids),
        json=with_field(_filled(seed, world.ids), name, ahead),
        headers=bearer(world.tokens[role.value]),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == REFUSED[field], answer.text
    if REFUSED[field] == "time_in_future":
        assert answer.json()["field"] == name
    assert row_counts(factory) == before


# Times outside the product's days (kit.dates): two with no UTC instant at all, one just before the
# first day and one just after the last.
OUTSIDE = [
    "0001-01-01T06:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "1969-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z",
]


def _in_matrix(field: Field) -> bool:
    try:
        matrix_case(field[0], field[1])
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize(
    "field", sorted(f for f in {**AHEAD, **REFUSED} if _in_matrix(f)), ids=lambda f: f"{f[0]} {f[1]} {f[2]}"
)
def test_a_time_outside_the_products_days_is_refused_and_writes_nothing(
    app: FastAPI,
    world: World,  # noqa: F811 - the fixture imported above
    factory: sessionmaker[Session],
    field: Field,
) -> None:
    """Every written time, ahead or not: 422 ``date_out_of_range`` like a day outside the range
    (never a 500 from a time with no UTC instant, or from a day a report or a scan steps back from),
    and nothing written."""
    method, path, name = field
    case = matrix_case(method, path)
    role = Role.OPERATOR if Role.OPERATOR in case.allowed else sorted(case.allowed)[0]
    before = row_counts(factory)
    with TestClient(app, raise_server_exceptions=False) as client:
        for value in OUTSIDE:
            seed = case.body(world.ids) if callable(case.body) else case.body
            answer = client.request(
                method,
                case.path.format(**world.ids),
                json=with_field(_filled(seed, world.ids), name, value),
                headers=bearer(world.tokens[role.value]),
            )
            assert answer.status_code == 422, (value, answer.text)
            assert answer.json()["code"] == "date_out_of_range", (value, answer.text)
            assert [e["type"] for e in answer.json()["errors"]] == ["date_out_of_range"], (value, answer.text)
    assert row_counts(factory) == before
