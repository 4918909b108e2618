"""The offers repository reads rows through SQLAlchemy's supported API: a lookup raises no deprecation
warning (``Result.tuples()`` is deprecated since SQLAlchemy 2.1, a ``Row`` unpacks as a tuple)."""

from __future__ import annotations

import warnings

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.offers import repository as offers_repository
from neigou.programs.models import Program
from tests.offers.factories import post, product


def test_products_of_programs_finds_each_pair_without_a_deprecation_warning(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    product(client, operator, "YD-TEE", 5900)
    for code in ("spring", "autumn"):
        post(client, operator, "programs", {"code": code, "name": code})
    with factory() as session:
        program_ids = list(session.scalars(select(Program.id)))
        pairs = [(program_id, sku) for program_id in program_ids for sku in ("YD-TEE", "NO-SUCH-SKU")]
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            found = offers_repository.products_of_programs(session, [*pairs, (10**9, "YD-TEE")])
    assert program_ids
    assert {key: found_product.sku for key, found_product in found.items()} == {
        (program_id, "YD-TEE"): "YD-TEE" for program_id in program_ids
    }
