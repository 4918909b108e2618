"""Domain events reach their listeners in the publisher's transaction, in registration order."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import events
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.jobs import JobRun


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[events.Listener]]:
    """An empty listener registry for the test."""
    fresh: dict[str, list[events.Listener]] = {}
    monkeypatch.setattr(events, "LISTENERS", fresh)
    return fresh


def test_listeners_run_in_order_once_each_and_only_for_their_types(
    registry: dict[str, list[events.Listener]], factory: sessionmaker[Session]
) -> None:
    heard: list[tuple[str, str, Session]] = []

    @events.listen("thing.done", "thing.undone")
    def first(session: Session, event: events.Event) -> None:
        heard.append(("first", event.type, session))

    @events.listen("thing.done")
    def second(session: Session, event: events.Event) -> None:
        heard.append(("second", event.type, session))

    events.listen("thing.done")(first)  # registering again changes nothing
    assert registry == {"thing.done": [first, second], "thing.undone": [first]}
    with factory() as session:
        events.publish(session, events.Event(type="thing.done", at=utcnow(), data={}))
        events.publish(session, events.Event(type="thing.undone", at=utcnow(), data={}))
        events.publish(session, events.Event(type="nobody.listens", at=utcnow(), data={}))
    assert heard == [
        ("first", "thing.done", session),
        ("second", "thing.done", session),
        ("first", "thing.undone", session),
    ]


def test_what_a_listener_writes_rolls_back_with_the_publisher(
    registry: dict[str, list[events.Listener]], factory: sessionmaker[Session]
) -> None:
    @events.listen("thing.done")
    def write(session: Session, event: events.Event) -> None:
        session.add(JobRun(key=event.data["key"], name="tests.event", finished_at=event.at))
        session.flush()

    def runs() -> int:
        with factory() as session:
            return int(session.scalar(select(func.count()).select_from(JobRun)) or 0)

    def publish_then_fail() -> None:
        with transaction(factory) as session:
            events.publish(session, events.Event(type="thing.done", at=utcnow(), data={"key": "a"}))
            raise RuntimeError("the publisher fails after publishing")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert runs() == 0
    with transaction(factory) as session:
        events.publish(session, events.Event(type="thing.done", at=utcnow(), data={"key": "b"}))
    assert runs() == 1
