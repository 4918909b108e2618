"""A reservation's customer sent as a JSON number with a point or an exponent, or as text in exponent
form, is refused ("write ids as text", ``kit.json_ids``): ``13812345678.0`` would be another shopper than
``13812345678``, past the per-person limit. A JSON whole number stays its digits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.events.builders import one_employee_event, reserve


@pytest.mark.parametrize("ref", [13800000001.0, 1.38e10, "1.3800000001e10", "1E10"])
def test_a_reservation_refuses_a_customer_as_a_float(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: Any
) -> None:
    event_id = one_employee_event(client, operator)
    before = row_counts(factory)
    answer = reserve(client, operator, event_id, "13800000001", customer_ref=ref)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_customer_ref"), answer.text
    assert "请把编号写成文本" in answer.json()["detail"]  # "write ids as text"
    assert "3800000001" not in answer.text
    assert row_counts(factory) == before


def test_a_reservation_takes_a_whole_number_as_its_digits(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = one_employee_event(client, operator)
    first = reserve(client, operator, event_id, "13800000001", customer_ref=13800000001, quantity=2)
    assert first.status_code == 201, first.text
    # The same shopper as the digits written as text: the per-person limit of two is already taken.
    again = reserve(client, operator, event_id, "13800000001")
    assert again.status_code != 201, again.text
