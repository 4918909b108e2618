"""A name people read (a brand's, a merchant's, an organization's, a program's, a group's, a campaign's,
a product's title) must show something: one of only white space and invisible marks (zero-width spaces,
direction marks, a byte-order mark) is refused, 422 ``blank_name``, nothing written (``kit.names``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.names import VisibleName
from tests.conftest import row_counts
from tests.orders.builders import SKU, build

BLANKS = [
    "\u200b",
    "\u200b\u200c\u200d",
    "\ufeff",
    "\u202a\u202c",
    " \u2060 \u200e ",
    "\u3164",
    "\uffa0\u3164",
    "\ufe0f",
]


def _refused(response: Any) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "blank_name"
    assert [e["type"] for e in problem["errors"]] == ["blank_name"]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_name_of_invisible_marks_is_refused_everywhere_the_console_names_things(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], blank: str
) -> None:
    w = build(client, operator, factory)
    before = row_counts(factory)
    now = datetime.now(UTC)
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/brands": {"code": "blank-brand", "name": blank},
        "/api/v1/categories": {"code": "blank-cat", "name": blank},
        "/api/v1/merchants": {"code": "blank-shop", "name": blank},
        "/api/v1/organizations": {"code": "blank-org", "name": blank},
        "/api/v1/programs": {"code": "blank-program", "name": blank},
        "/api/v1/products": {"sku": "BLANK-1", "title": blank, "price_fen": 100, "commission_rate_bp": 100},
        "/api/v1/groups": {"owner_member_id": w.seller, "name": blank, "platform": "wechat"},
        "/api/v1/campaigns": {
            "program_id": w.program_id,
            "name": blank,
            "skus": [SKU],
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    }
    for path, body in bodies.items():
        _refused(client.post(path, json=body, headers=operator))
    assert row_counts(factory) == before


def test_a_name_with_something_visible_is_kept_as_given() -> None:
    names = TypeAdapter(Annotated[str, VisibleName])
    assert names.validate_python("\u200b内购群\u200b") == "\u200b内购群\u200b"
    assert names.validate_python("A") == "A"
