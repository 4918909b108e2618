"""A reservation's shopper in exponent form (``2.34568E+18``, a 19-digit member number a spreadsheet held
roughly) is refused, bare or wrapped in an Excel text marker (``'2.34568E+18``, ``="2.34568E+18"``,
full-width ``＝＂…＂``, ``＇…``, an invisible mark before the marker): each would be hashed as the bare
form, two shoppers whose numbers round alike one to the per-person limit. A mark before the marker is
trimmed first: ``\\ufeff'13800000001`` is the shopper ``13800000001``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events.models import Reservation
from neigou.kit.ids import customer_ref_hash
from tests.conftest import SECRET, row_counts
from tests.events.builders import one_employee_event, reserve

LONG = ["2.34568E+18", "'2.34568E+18", '="2.34568E+18"', "＝＂2.34568E+18＂", "＇2.34568E+18"]
LONG += ["\ufeff'2.34568E+18", "\u200b＇2.34568E+18", "２.３４５６８Ｅ＋１８"]


@pytest.mark.parametrize("ref", LONG)
def test_a_reservation_in_exponent_form_is_refused_marked_or_not(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: str
) -> None:
    event_id = one_employee_event(client, operator)
    before = row_counts(factory)
    refused = reserve(client, operator, event_id, "c1", customer_ref=ref)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_customer_ref"), refused.text
    assert "文本" in refused.json()["detail"]  # "write ids as text"
    assert "2.34568" not in refused.text
    assert row_counts(factory) == before


@pytest.mark.parametrize("ref", ["\ufeff'13800000001", '\u200b="13800000001"', "\ufeff＇13800000001"])
def test_a_mark_before_the_marker_is_the_plain_shopper(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: str
) -> None:
    event_id = one_employee_event(client, operator)
    taken = reserve(client, operator, event_id, "13800000001", customer_ref=ref)
    assert taken.status_code == 201, taken.text
    with factory() as session:
        hashes = set(session.scalars(select(Reservation.customer_ref_hash)))
    assert hashes == {customer_ref_hash(SECRET, "13800000001")}
