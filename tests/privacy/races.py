"""The set-up the opt-out race tests share: a writer of a customer and the shopper's opt-out run on two
connections, the second started once the first reached a hold inside its transaction.

Whichever side comes second must wait for the first one's commit (both take the customer's lock before
they look, ``privacy.repository.lock_customers``: an advisory lock on PostgreSQL, the database's write
lock on SQLite) and then see what it did. The first side holds until the second waits for its lock, or
ran to its commit when nothing held it back (``tests.lock_waits``), so without the lock the tests fail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.privacy import repository, service
from tests.conftest import TEST_ACTOR
from tests.lock_waits import LockWaits, paused, two_sides
from tests.sqlite_lock_waits import SqliteLockWaits

__all__ = ["lock_width", "opt_out", "paused", "race"]


@pytest.fixture(params=["customer", "wide"])
def lock_width(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test with the customers' locks, and with the wide lock a large batch takes instead (the
    same write lock on SQLite)."""
    if request.param == "wide":
        monkeypatch.setattr(repository, "WIDE_FROM", 0)


def opt_out(session: Session, *, secret_key: str, customer_ref: str, program_id: int) -> dict[str, int]:
    """The shopper's opt-out of the program now; what it erased, by kind."""
    result = service.opt_out(
        session,
        secret_key=secret_key,
        customer_ref=customer_ref,
        program_id=program_id,
        request_id="race",
        actor=TEST_ACTOR,
        at=utcnow(),
    )
    return result.opt_out.erased


def race(
    factory: sessionmaker[Session],
    *,
    writer: Callable[[Session], object],
    opt_out: Callable[[Session], dict[str, int]],
    writer_first: bool,
    waits: LockWaits | SqliteLockWaits,
    pause_after_first: bool = False,
) -> tuple[dict[str, int], object]:
    """``writer`` and ``opt_out`` on two connections, the first (the writer if ``writer_first``) at once,
    the second once the first holds (``waits``, of two sides): in a ``paused`` function it calls, or,
    with ``pause_after_first``, when it has done its work and before it commits. The first side goes on
    once the second waits for its lock (or ran to its end). What the opt-out erased and what the writer
    answered."""
    first, second = (writer, opt_out) if writer_first else (opt_out, writer)

    def first_side(session: Session) -> object:
        result = first(session)
        if pause_after_first:
            waits.hold()
        return result

    results = two_sides(factory, first_side, second, waits)
    assert not [r for r in results if isinstance(r, Exception)], results
    erased = next(r for r in results if isinstance(r, dict))
    written = next(r for r in results if r is not erased)
    assert isinstance(erased, dict)
    return erased, written
