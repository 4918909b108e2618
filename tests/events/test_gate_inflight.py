"""Seeding asks one key whether the event's reservations are still in the stream.

The reserve script counts each entry it appends under its event (``<namespace>:event-inflight``) and
the writer counts it off in the script that deletes it from the stream, so a seeding behind a long
stream of another event's reservations does not read that stream. A count that cannot be trusted (the
hash lost while entries waited) falls back to reading the stream; one left over heals itself, or is
passed over once the stream's oldest entry is older than any entry stays unstored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import inflight, seeds
from neigou.events.gate import ReservationGate
from neigou.events.gate_keys import employees_key
from neigou.kit import dead_letters, metrics
from tests.events.builders import SKU, add_employees, create_event, gate_of, reserve, whitelist
from tests.factories import create_program

OTHERS = 3000


def _two_events(api: TestClient, operator: dict[str, str]) -> tuple[int, int]:
    program = create_program(api, operator)
    events = []
    for _ in range(2):
        event_id = create_event(api, operator, program["id"])
        add_employees(api, operator, event_id, whitelist())
        events.append(event_id)
    return events[0], events[1]


def _seed(gate: ReservationGate, base: str, factory: sessionmaker[Session], event_id: int) -> bool:
    with factory() as session:
        return gate.seed(
            base,
            lambda: seeds.seed_state(session, event_id),
            event_id=event_id,
            expire_at=datetime.now(UTC) + timedelta(days=1),
        )


def _fill(gate: ReservationGate, base: str, event_id: int, count: int) -> None:
    """``count`` reservations of another event appended through the gate's script (never stored: the
    fixture drops the stream), each by a number of its own (one number is one shopper's)."""
    gate.client.hset(employees_key(base), mapping={f"F{n}": "" for n in range(count)})
    for n in range(count):
        taken = gate.reserve(
            base,
            sku=SKU,
            customer=f"other-{n}",
            quantity=1,
            stock=10**6,
            limit=10,
            employee_no=f"F{n}",
            invitation_code=None,
            record={"e": event_id, "pad": "x" * 64},
        )
        assert taken.code == "taken"


def _read_entries(gate: ReservationGate, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the stream entries the gate's client reads with XRANGE."""
    read: list[int] = []
    xrange = gate.client.xrange

    def counting(*args: Any, **kwargs: Any) -> Any:
        found = xrange(*args, **kwargs)
        read.append(len(found))  # type: ignore[arg-type]
        return found

    monkeypatch.setattr(gate.client, "xrange", counting)
    return read


def test_seeding_behind_another_events_long_stream_reads_one_entry(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = TestClient(redis_app)  # no lifespan: the stream is stored when the test flushes it
    event_id, other_id = _two_events(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    assert reserve(api, operator, other_id, "o1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    runtime.flush()
    other_base = gate_of(redis_app, other_id)[2]
    _fill(gate, other_base, other_id, OTHERS)
    gate.forget(base)
    read = _read_entries(gate, monkeypatch)
    assert _seed(gate, base, factory, event_id)
    assert sum(read) <= 1  # not the other event's thousands of entries
    assert gate.counts(base)[SKU] == 1
    assert gate.client.hget(gate.inflight.key, str(other_id)) == str(OTHERS).encode()


def test_seeding_waits_for_the_events_own_reservations_only(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    api = TestClient(redis_app)
    event_id, other_id = _two_events(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    assert reserve(api, operator, other_id, "o1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    gate.forget(base)
    assert gate.client.hget(gate.inflight.key, str(event_id)) == b"1"
    assert not _seed(gate, base, factory, event_id)  # c1's reservation is still in the stream
    runtime.flush()
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None
    assert reserve(api, operator, other_id, "o2").status_code == 201  # the stream is not empty
    assert _seed(gate, base, factory, event_id)
    assert gate.counts(base)[SKU] == 1


def test_a_lost_count_falls_back_to_reading_the_stream(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The in-flight hash is lost (evicted) while the event's reservation waits in the stream: the count
    the next reservation starts again knows nothing of it, so the seeding reads the stream and waits;
    counting the old entry off later takes nothing from the new count."""
    api = TestClient(redis_app)
    event_id, other_id = _two_events(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    gate.client.delete(gate.inflight.key)
    assert reserve(api, operator, other_id, "o1").status_code == 201
    gate.forget(base)
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None
    assert not _seed(gate, base, factory, event_id)  # found by reading the stream
    assert reserve(api, operator, other_id, "o2").status_code == 201
    runtime.flush()
    assert gate.client.hget(gate.inflight.key, str(other_id)) is None
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None
    assert _seed(gate, base, factory, event_id)
    assert gate.counts(base)[SKU] == 1


def test_a_count_left_over_heals_when_the_event_is_seeded(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A count the writer never took down (an older process moved an entry to the dead letters without
    counting it off) does not hold the event's seeding back for good: once the stream's oldest entry
    is newer than the event's last counted one, none of its reservations can be there."""
    api = TestClient(redis_app)
    event_id, other_id = _two_events(api, operator)
    made = reserve(api, operator, event_id, "c1")
    assert made.status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    (entry_id, _), *_ = gate.client.xrange(gate.stream, "-", "+", count=1)  # type: ignore[misc]
    runtime.flush()
    gate.client.hincrby(gate.inflight.key, str(event_id), 1)
    gate.client.hset(gate.inflight.key, f"{event_id}@", entry_id)
    assert reserve(api, operator, other_id, "o1").status_code == 201
    gate.forget(base)
    assert _seed(gate, base, factory, event_id)
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None
    gate.forget(base)
    runtime.flush()
    gate.client.hincrby(gate.inflight.key, str(event_id), 1)  # left over, and the stream empty
    assert _seed(gate, base, factory, event_id)
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None


def test_an_entry_moved_to_the_dead_letters_leaves_the_count(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = TestClient(redis_app)
    event_id, _ = _two_events(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, _ = gate_of(redis_app, event_id)
    writer = runtime.writer

    def unstorable(session: Session, entries: list[Any]) -> int:
        raise ValueError("bad entry")

    monkeypatch.setattr(writer, "store", unstorable)
    monkeypatch.setattr(writer, "claim_idle_ms", 0)
    for _ in range(6):
        writer.drain_once()
    assert gate.client.xlen(gate.stream) == 0
    assert gate.client.xlen(gate.stream + ":dead") == 1
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None


def test_a_seeding_right_after_a_move_to_the_dead_letters_leaves_the_next_count_whole(
    redis_app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The entry's count-off is in the script that moves it to the dead letters: a seeding that runs
    right after the move finds the count gone, and the event's next reservation, still in the stream,
    keeps its count (a count-off run after the seeding took it from that new count, and a second
    seeding read the database without the reservation: Redis's counters below the truth)."""
    api = TestClient(redis_app)
    event_id, _ = _two_events(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    writer = runtime.writer
    gate.forget(base)

    def unstorable(session: Session, entries: list[Any]) -> int:
        raise ValueError("bad entry")

    monkeypatch.setattr(writer, "store", unstorable)
    monkeypatch.setattr(writer, "claim_idle_ms", 0)
    labels = metrics.STREAM_DEAD_LETTERS.labels
    seeded: list[bool] = []

    def right_after_the_move(**kwargs: str) -> Any:
        seeded.append(_seed(gate, base, factory, event_id))
        assert reserve(api, operator, event_id, "c2").status_code == 201  # stays in the stream
        return labels(**kwargs)

    # The dead letters' metric is counted right after the move's script, before any step that follows it.
    monkeypatch.setattr(metrics.STREAM_DEAD_LETTERS, "labels", right_after_the_move)
    for _ in range(dead_letters.MAX_DELIVERIES):
        writer.drain_once()
    assert seeded == [True]
    assert gate.client.xlen(gate.stream + ":dead") == 1
    assert gate.client.hget(gate.inflight.key, str(event_id)) == b"1"
    gate.forget(base)
    assert gate.in_flight(event_id)
    assert not _seed(gate, base, factory, event_id)


def test_an_entry_counted_while_the_seeding_checks_keeps_its_count(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check reads the stream's oldest entry and the count in one script: an entry counted after
    an empty stream was read and before the count was is never taken for a count left over."""
    api = TestClient(redis_app)
    event_id, _ = _two_events(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    runtime.flush()
    assert gate.client.xlen(gate.stream) == 0
    appended: list[bool] = []
    xrange = gate.client.xrange

    def then_a_reservation(*args: Any, **kwargs: Any) -> Any:
        found = xrange(*args, **kwargs)
        if not appended:
            appended.append(True)
            _fill(gate, base, event_id, 1)
        return found

    monkeypatch.setattr(gate.client, "xrange", then_a_reservation)
    answer = gate.in_flight(event_id)
    if not appended:  # the check read nothing between its steps: the reservation comes after it
        assert not answer
        _fill(gate, base, event_id, 1)
    assert gate.client.hget(gate.inflight.key, str(event_id)) == b"1"
    assert gate.in_flight(event_id)


def test_a_count_too_high_behind_an_old_entry_falls_back_to_reading_the_stream(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A count no script took down (an older process moved the entry to the dead letters without it)
    behind another event's entry that stays in the stream holds the event's seeding back only until
    that entry is older than ``STALE_MS``: the stream is read then, and holds none of the event's."""
    api = TestClient(redis_app)
    event_id, other_id = _two_events(api, operator)
    assert reserve(api, operator, other_id, "o1").status_code == 201  # stays in the stream
    assert reserve(api, operator, event_id, "c1").status_code == 201
    gate, base = gate_of(redis_app, event_id)[1:]
    entries: Any = gate.client.xrange(gate.stream, "-", "+")
    gate.client.xdel(gate.stream, entries[-1][0])  # moved away, never counted off
    assert gate.client.hget(gate.inflight.key, str(event_id)) == b"1"
    gate.forget(base)
    assert not _seed(gate, base, factory, event_id)  # o1 is fresh: the count is believed
    gate.inflight.stale_ms = 0  # o1 has stayed longer than any entry stays unstored
    assert not gate.in_flight(event_id)
    assert _seed(gate, base, factory, event_id)
    assert gate.counts(base)[SKU] == 0


def _stuck_behind_an_old_entry(api: TestClient, operator: dict[str, str], app: FastAPI) -> tuple[Any, ...]:
    """Another event's entry that stays in the stream, and the event's count of 1 that no script took
    down (its entry moved away without it)."""
    event_id, other_id = _two_events(api, operator)
    assert reserve(api, operator, other_id, "o1").status_code == 201  # stays in the stream
    assert reserve(api, operator, event_id, "c1").status_code == 201
    gate, base = gate_of(app, event_id)[1:]
    entries: Any = gate.client.xrange(gate.stream, "-", "+")
    gate.client.xdel(gate.stream, entries[-1][0])  # moved away, never counted off
    assert gate.client.hget(gate.inflight.key, str(event_id)) == b"1"
    return event_id, gate, base


def test_a_scan_that_finds_none_of_the_events_entries_removes_its_count(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the bound sent the check to the stream and the stream held none of the event's entries,
    the count is gone: the next check does not read the stream again until the old entry leaves it."""
    event_id, gate, _ = _stuck_behind_an_old_entry(TestClient(redis_app), operator, redis_app)
    gate.inflight.stale_ms = 0
    assert not gate.in_flight(event_id)
    assert gate.client.hget(gate.inflight.key, str(event_id)) is None
    gate.inflight.stale_ms = inflight.STALE_MS
    read = _read_entries(gate, monkeypatch)
    assert not gate.in_flight(event_id)
    assert read == []  # the count alone answered


def test_a_reservation_counted_during_the_scan_keeps_the_count(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count is removed only while the event's last counted entry is the one the check saw: a
    reservation counted after the scan passed (a state seeded meanwhile) keeps its count."""
    event_id, gate, base = _stuck_behind_an_old_entry(TestClient(redis_app), operator, redis_app)
    gate.inflight.stale_ms = 0
    in_stream = gate.in_stream

    def then_a_reservation(event: int, **kwargs: Any) -> bool:
        found: bool = in_stream(event, **kwargs)
        _fill(gate, base, event_id, 1)
        return found

    monkeypatch.setattr(gate, "in_stream", then_a_reservation)
    assert not gate.in_flight(event_id)
    assert gate.client.hget(gate.inflight.key, str(event_id)) == b"2"
    monkeypatch.undo()
    assert gate.in_flight(event_id)  # the scan finds the new entry
