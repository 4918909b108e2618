"""Array parameters sent in binary: the same matches as the text form, whatever the elements hold."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, String, any_, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.pg_arrays import BinaryArray, BinaryList

AWKWARD = ["plain", "a,b", 'quo"te', "back\\slash", "{brace}", " spaced ", "NULL", "", "红色", "it's"]


def _matches(session: Session, probe: object, values: list[object], array: BinaryArray) -> bool:
    element = String() if array.element == "VARCHAR" else BigInteger()
    return (
        session.execute(
            select(literal(1)).where(literal(probe, element) == any_(literal(values, array)))
        ).first()
        is not None
    )


def test_the_parameter_is_cast_to_its_array_type_and_handed_over_as_a_binary_list() -> None:
    statement = select(literal(1)).where(
        literal("x", String()) == any_(literal(["x"], BinaryArray("VARCHAR")))
    )
    assert "::VARCHAR[]" in str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    processor = BinaryArray("VARCHAR").bind_processor(postgresql.dialect())  # type: ignore[no-untyped-call]
    assert isinstance(processor(["x"]), BinaryList)


@pytest.mark.postgres_only(reason="the binary array parameter is PostgreSQL's")
def test_binary_arrays_match_what_they_hold_and_nothing_else(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        for value in AWKWARD:
            assert _matches(session, value, list(AWKWARD), BinaryArray("VARCHAR"))
        assert not _matches(session, "absent", list(AWKWARD), BinaryArray("VARCHAR"))
        assert not _matches(session, "plain", [], BinaryArray("VARCHAR"))
        ids: list[object] = [1, 2**40, 7]
        assert _matches(session, 2**40, ids, BinaryArray("BIGINT"))
        assert not _matches(session, 3, ids, BinaryArray("BIGINT"))
        assert not _matches(session, 3, [], BinaryArray("BIGINT"))
