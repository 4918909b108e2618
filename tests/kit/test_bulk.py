"""Bulk plumbing on both databases: slices, the one "insert, skip duplicates" switch, COPY on
PostgreSQL (text, binary, and the savepoint with its staging fallback), driver executemany."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic_core import to_json
from sqlalchemy import Engine, ForeignKey, MetaData, String, UniqueConstraint, delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from neigou.kit import bulk
from neigou.kit.copy_bounds import IntegerOutOfRange
from neigou.kit.db import BigId, JSONType, UTCDateTime, str_enum


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class _Base(DeclarativeBase):
    """Tables of these tests only, apart from the application's metadata (the migrations' truth)."""

    metadata = MetaData()


class Item(_Base):
    __tablename__ = "kit_bulk_items"
    __table_args__ = (UniqueConstraint("batch", "n"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    batch: Mapped[int]
    n: Mapped[int]
    colour: Mapped[Colour] = mapped_column(str_enum(Colour))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Tag(_Base):
    """A table whose key is not ``id``: ``insert_ignoring_duplicates`` needs no id."""

    __tablename__ = "kit_bulk_tags"

    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("kit_bulk_items.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(20), primary_key=True)


COLUMNS = ("code", "batch", "n", "colour")
TYPES_PG = ("varchar", "int4", "int4", "varchar")
AT = datetime(2026, 3, 24, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def session(engine: Engine, factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session with the test tables in place; dropped afterwards."""
    _Base.metadata.create_all(engine)
    try:
        with factory() as s:
            yield s
            s.rollback()
    finally:
        _Base.metadata.drop_all(engine)


def row(code: str, batch: int = 1, n: int | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "batch": batch,
        "n": int(code[1:]) if n is None else n,
        "colour": Colour.RED,
        **extra,
    }


def stored(session: Session) -> list[tuple[str, int, int, Colour]]:
    query = select(Item.code, Item.batch, Item.n, Item.colour).order_by(Item.code)
    return [(code, batch, n, colour) for code, batch, n, colour in session.execute(query)]


# chunks


@pytest.mark.parametrize(
    ("values", "size", "expected"),
    [
        ([], 3, []),
        ([1], 3, [[1]]),
        ([1, 2, 3], 3, [[1, 2, 3]]),
        ([1, 2, 3, 4], 3, [[1, 2, 3], [4]]),
        ([1, 2, 3, 4, 5, 6], 3, [[1, 2, 3], [4, 5, 6]]),
        ([1, 2], 1, [[1], [2]]),
        ((1, 2, 3), 5, [[1, 2, 3]]),
    ],
)
def test_chunks_slices_in_order(values: list[int], size: int, expected: list[list[int]]) -> None:
    assert list(bulk.chunks(values, size)) == expected


def test_chunks_default_size_and_fresh_lists() -> None:
    values = list(range(bulk.CHUNK * 2 + 1))
    parts = list(bulk.chunks(values))
    assert [len(p) for p in parts] == [bulk.CHUNK, bulk.CHUNK, 1]
    parts[0].append(-1)
    assert values == list(range(bulk.CHUNK * 2 + 1))


@pytest.mark.parametrize("size", [0, -1])
def test_chunks_refuse_a_size_below_one(size: int) -> None:
    with pytest.raises(ValueError, match="chunk size must be positive"):
        list(bulk.chunks([1, 2], size))


# insert, skip duplicates (both databases)


def test_insert_ignoring_duplicates_skips_rows_whose_key_is_taken(session: Session) -> None:
    bulk.insert_ignoring_duplicates(session, Item, [row("a1"), row("a2")])
    bulk.insert_ignoring_duplicates(
        session,
        Item,
        [row("a2", n=9), row("a3"), row("b1", batch=1, n=3), row("a3", n=7)],  # code, (batch, n), in-batch
    )
    assert stored(session) == [("a1", 1, 1, Colour.RED), ("a2", 1, 2, Colour.RED), ("a3", 1, 3, Colour.RED)]


def test_insert_ignoring_duplicates_returns_the_inserted_rows_only(session: Session) -> None:
    bulk.insert_ignoring_duplicates(session, bulk.table_of(Item), [row("a1")])  # a table does as a model
    inserted = bulk.insert_ignoring_duplicates(
        session, Item, [row("a1"), row("a2"), row("a3")], index_elements=["code"], returning=["code", "n"]
    )
    assert sorted(inserted) == [("a2", 2), ("a3", 3)]
    assert bulk.insert_ignoring_duplicates(session, Item, [row("a2")], returning=["code"]) == []
    assert bulk.insert_ignoring_duplicates(session, Item, [], returning=["code"]) == []


def test_insert_ignoring_duplicates_on_one_key_still_refuses_another(session: Session) -> None:
    bulk.insert_ignoring_duplicates(session, Item, [row("a1")])
    with pytest.raises(IntegrityError):
        bulk.insert_ignoring_duplicates(session, Item, [row("b1", n=1)], index_elements=["code"])


def test_insert_ignoring_duplicates_on_a_composite_primary_key(session: Session) -> None:
    (item_id,) = bulk.insert_ignoring_duplicates(session, Item, [row("a1")], returning=["id"])[0]
    tags = [{"item_id": item_id, "tag": t} for t in ("x", "y", "x")]
    bulk.insert_ignoring_duplicates(session, Tag, tags)
    bulk.insert_ignoring_duplicates(session, Tag, tags, index_elements=["item_id", "tag"])
    assert list(session.scalars(select(Tag.tag).order_by(Tag.tag))) == ["x", "y"]


@pytest.mark.parametrize("count", [3, bulk.STAGE_FROM + 5])  # a plain INSERT, then staged on PostgreSQL
def test_insert_new_returns_key_and_id_of_new_rows(session: Session, count: int) -> None:
    bulk.insert_rows(session, Item, [row("a1"), row("a2")])
    taken = dict(session.execute(select(Item.code, Item.id)).all())
    rows = [row(f"a{i}", at=AT, data={"i": i}) for i in range(1, count + 1)]
    inserted = bulk.insert_new(session, Item, rows, unique=("code",))
    assert sorted(code for code, _ in inserted) == sorted(f"a{i}" for i in range(3, count + 1))
    ids = dict(session.execute(select(Item.code, Item.id)).all())
    assert dict(inserted) == {code: i for code, i in ids.items() if code not in taken}
    assert session.scalar(select(Item.data).where(Item.code == f"a{count}")) == {"i": count}
    assert session.scalar(select(Item.at).where(Item.code == "a3")) == AT
    assert bulk.insert_new(session, Item, rows, unique=("code",)) == []  # the staging table starts empty


@pytest.mark.parametrize("count", [3, bulk.STAGE_FROM + 5])  # one INSERT, then staged on PostgreSQL
def test_upsert_adding_adds_to_taken_keys_and_inserts_the_others(session: Session, count: int) -> None:
    bulk.insert_rows(session, Item, [row("a1", batch=1, n=10), row("a2", batch=2, n=20)])
    rows = [row(f"a{i}", batch=i, n=i) for i in range(1, count + 1)]
    for _ in range(2):  # the second time the staging table starts empty and every key is taken
        bulk.upsert_adding(session, Item, rows, key=("code",), add="n")
    got = dict(session.execute(select(Item.code, Item.n)).all())
    assert got == {"a1": 12, "a2": 24, **{f"a{i}": 2 * i for i in range(3, count + 1)}}
    bulk.upsert_adding(session, Item, [], key=("code",), add="n")
    assert len(stored(session)) == count


def test_insert_rows_keeps_enums_json_and_times(session: Session) -> None:
    bulk.insert_rows(
        session,
        Item,
        [
            row("a1", data={"名": "内购", "n": [1, 2]}, at=AT),
            {**row("a2"), "colour": Colour.BLUE, "data": None, "at": None},
        ],
    )
    got = session.execute(select(Item.code, Item.colour, Item.data, Item.at).order_by(Item.code)).all()
    assert [tuple(r) for r in got] == [
        ("a1", Colour.RED, {"名": "内购", "n": [1, 2]}, AT),
        ("a2", Colour.BLUE, None, None),
    ]
    bulk.insert_rows(session, Item, [])
    assert len(stored(session)) == 2


def test_insert_rows_converts_json_and_enums_when_the_first_row_holds_null(session: Session) -> None:
    """Which columns need converting is told by the table, not by a first row whose value is NULL;
    a JSON column holding a bare string or number is stored as that JSON value."""
    rows = [row("a1", data=None), row("a2", data={"k": [1]}), row("a3", data="文本"), row("a4", data=7)]
    rows[1]["colour"] = "blue"  # a stored value given as text next to enum members
    bulk.insert_rows(session, Item, rows)
    got = session.execute(select(Item.code, Item.colour, Item.data).order_by(Item.code)).all()
    assert [tuple(r) for r in got] == [
        ("a1", Colour.RED, None),
        ("a2", Colour.BLUE, {"k": [1]}),
        ("a3", Colour.RED, "文本"),
        ("a4", Colour.RED, 7),
    ]


def test_staging_the_same_table_with_other_columns_on_one_connection(session: Session) -> None:
    """A staging table is per column set: a later batch with more columns is not refused because
    the first batch on the connection staged fewer."""
    count = bulk.STAGE_FROM + 5
    narrow = [row(f"a{i}") for i in range(1, count + 1)]
    assert len(bulk.insert_new(session, Item, narrow, unique=("code",))) == count
    wide = [row(f"b{i}", batch=2, data={"i": i}, at=AT) for i in range(1, count + 1)]
    assert len(bulk.insert_new(session, Item, wide, unique=("code",))) == count
    assert session.scalar(select(Item.data).where(Item.code == "b2")) == {"i": 2}
    assert len(stored(session)) == 2 * count


@pytest.mark.postgres_only(reason="COPY and temporary tables are PostgreSQL's")
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_staging_table_lives_as_long_as_its_transaction(session: Session, outcome: str) -> None:
    """A pooled connection hands its next user no staging table, whether the transaction that
    staged committed or failed."""
    temp_tables = text("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")
    rows = [row(f"a{i}") for i in range(1, bulk.STAGE_FROM + 6)]
    assert len(bulk.insert_new(session, Item, rows, unique=("code",))) == len(rows)
    wide = [row(f"b{i}", batch=2, data={"i": i}) for i in range(1, len(rows) + 1)]
    assert len(bulk.insert_new(session, Item, wide, unique=("code",))) == len(wide)
    assert session.scalar(temp_tables) == 2  # one per column set, while the transaction lasts
    session.commit() if outcome == "commit" else session.rollback()
    assert session.scalar(temp_tables) == 0
    assert len(stored(session)) == (2 * len(rows) if outcome == "commit" else 0)
    session.execute(delete(Item))
    session.commit()


def test_insert_driver_rows_skips_taken_keys_or_refuses_them(session: Session) -> None:
    raw = [("a1", 1, 1, "red"), ("a2", 1, 2, "blue")]
    bulk.insert_driver_rows(session, "kit_bulk_items", COLUMNS, raw)
    bulk.insert_driver_rows(
        session, "kit_bulk_items", COLUMNS, [("a2", 2, 2, "red"), ("a3", 1, 3, "red")], unique=["code"]
    )
    bulk.insert_driver_rows(session, "kit_bulk_items", COLUMNS, [])
    assert stored(session) == [("a1", 1, 1, Colour.RED), ("a2", 1, 2, Colour.BLUE), ("a3", 1, 3, Colour.RED)]
    with pytest.raises(IntegrityError):
        bulk.insert_driver_rows(
            session, "kit_bulk_items", COLUMNS, [("a4", 1, 4, "red"), ("a4", 2, 4, "red")]
        )


def test_next_ids_come_from_the_sequence_on_postgresql_only(session: Session, engine: Engine) -> None:
    ids = bulk.next_ids(session, Item, 3)
    if engine.dialect.name != "postgresql":
        assert ids is None
        return
    assert ids is not None
    assert ids == sorted(set(ids))
    assert bulk.next_ids(session, Item, 0) is None
    bulk.insert_rows(session, Item, [{"id": i, **row(f"a{n}")} for n, i in enumerate(ids, start=1)])
    bulk.insert_rows(session, Item, [row("a9")])  # the sequence moved past the ids handed out
    assert sorted(session.scalars(select(Item.id))) == [*ids, ids[-1] + 1]


# COPY (PostgreSQL)


@pytest.mark.postgres_only(reason="COPY and temporary tables are PostgreSQL's")
@pytest.mark.parametrize("types", [None, TYPES_PG])
def test_copy_rows_text_and_binary(session: Session, types: tuple[str, ...] | None) -> None:
    bulk.copy_rows(
        session, "kit_bulk_items", COLUMNS, iter([("a1", 1, 1, "red"), ("a2", 1, 2, "blue")]), types=types
    )
    assert stored(session) == [("a1", 1, 1, Colour.RED), ("a2", 1, 2, Colour.BLUE)]


@pytest.mark.postgres_only(reason="COPY and temporary tables are PostgreSQL's")
def test_copy_rows_encodes_json_with_the_given_dumps_for_that_copy_only(session: Session) -> None:
    encoded: list[object] = []

    def dumps(value: object) -> bytes:
        encoded.append(value)
        return to_json(value)

    columns, types = (*COLUMNS, "data"), (*TYPES_PG, "jsonb")
    document = {"name": "红色", "n": [1, 2], "nested": {"none": None, "yes": True}}
    bulk.copy_rows(
        session, "kit_bulk_items", columns, [("j1", 1, 1, "red", document)], types=types, json_dumps=dumps
    )
    bulk.copy_rows(session, "kit_bulk_items", columns, [("j2", 1, 2, "red", document)], types=types)
    assert encoded == [document]  # the second COPY used the driver's own encoder
    assert session.execute(select(Item.code, Item.data).order_by(Item.code)).all() == [
        ("j1", document),
        ("j2", document),
    ]


@pytest.mark.postgres_only(reason="COPY and temporary tables are PostgreSQL's")
def test_copy_ignoring_duplicates_fast_path_then_staged(session: Session) -> None:
    bulk.insert_rows(session, Item, [row("a0", n=0)])  # written before, in the same transaction
    first = bulk.copy_ignoring_duplicates(
        session,
        "kit_bulk_items",
        COLUMNS,
        [("a1", 1, 1, "red"), ("a2", 1, 2, "red")],
        unique=("code",),
        types=TYPES_PG,
    )
    assert first == [("a1",), ("a2",)]  # the fast way: every row is new
    again = [("a2", 2, 2, "blue"), ("a3", 1, 3, "red"), ("a3", 2, 3, "blue"), ("a4", 1, 4, "blue")]
    inserted = [
        bulk.copy_ignoring_duplicates(
            session, "kit_bulk_items", COLUMNS, again, unique=("code",), types=TYPES_PG
        )
        for _ in range(2)  # the second time every row is taken, and the staging table starts empty
    ]
    assert [sorted(keys) for keys in inserted] == [[("a3",), ("a4",)], []]
    assert stored(session) == [
        ("a0", 1, 0, Colour.RED),
        ("a1", 1, 1, Colour.RED),
        ("a2", 1, 2, Colour.RED),
        ("a3", 1, 3, Colour.RED),
        ("a4", 1, 4, Colour.BLUE),
    ]


@pytest.mark.postgres_only(reason="COPY is PostgreSQL's")
def test_copy_unless_taken_writes_all_or_nothing_and_keeps_the_transaction(session: Session) -> None:
    assert bulk.copy_unless_taken(session, "kit_bulk_items", COLUMNS, [("t1", 1, 1, "red")], types=TYPES_PG)
    taken = [("t2", 1, 2, "red"), ("t1", 2, 1, "blue")]  # t2 is new, t1 taken: neither goes in
    assert not bulk.copy_unless_taken(session, "kit_bulk_items", COLUMNS, taken, types=TYPES_PG)
    assert bulk.copy_unless_taken(session, "kit_bulk_items", COLUMNS, [("t3", 1, 3, "blue")], types=TYPES_PG)
    assert stored(session) == [("t1", 1, 1, Colour.RED), ("t3", 1, 3, Colour.BLUE)]
    with pytest.raises(Exception, match="null value") as raised:
        bulk.copy_unless_taken(session, "kit_bulk_items", COLUMNS, [("t4", None, 4, "red")], types=TYPES_PG)
    assert getattr(raised.value, "sqlstate", None) == "23502"  # not null: not a taken key


@pytest.mark.postgres_only(reason="COPY and temporary tables are PostgreSQL's")
def test_copy_ignoring_duplicates_lets_other_errors_through(session: Session) -> None:
    with pytest.raises(Exception, match="null value") as raised:
        bulk.copy_ignoring_duplicates(
            session, "kit_bulk_items", COLUMNS, [("a1", None, 1, "red")], unique=("code",), types=TYPES_PG
        )
    assert getattr(raised.value, "sqlstate", None) == "23502"  # not null: not a duplicate to skip


@pytest.mark.postgres_only(reason="binary COPY is PostgreSQL's")
@pytest.mark.parametrize(
    ("columns", "types", "rows", "named"),
    [
        (
            COLUMNS,
            TYPES_PG,
            [("b1", 2**31 - 1, -(2**31), "blue"), ("b2", 1, 13_812_345_678, "red")],
            "n: .*int4",
        ),
        (COLUMNS, TYPES_PG, [("b1", 1, 1, "blue"), ("b2", -(2**31) - 1, 2, "red")], "batch: .*int4"),
        (
            ("id", *COLUMNS),
            ("int8", *TYPES_PG),
            [(2**63 - 1, "b1", 1, 1, "red"), (2**63, "b2", 1, 2, "red")],
            "id: .*int8",
        ),
    ],
)
def test_binary_copy_refuses_an_integer_outside_its_type(
    session: Session,
    columns: tuple[str, ...],
    types: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    named: str,
) -> None:
    """Once stored wrapped: 13,812,345,678 into an int4 column read back as 927,443,790."""
    good, bad = rows
    with pytest.raises(IntegerOutOfRange, match=f"^kit_bulk_items.{named}$") as raised:
        bulk.copy_rows(session, "kit_bulk_items", columns, iter(rows), types=types)
    assert str(bad[columns.index(raised.value.column)]) not in str(raised.value)  # never the value
    assert stored(session) == []  # refused before the COPY began: the transaction goes on
    bulk.copy_rows(session, "kit_bulk_items", columns, [good], types=types)  # the bounds themselves
    assert session.execute(select(*(Item.__table__.c[c] for c in columns))).all() == [good]
