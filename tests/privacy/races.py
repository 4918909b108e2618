"""The set-up the opt-out race tests share: a writer of a customer and the shopper's opt-out run on two
PostgreSQL connections, the second started once the first reached a hold inside its transaction.

Whichever side comes second must wait for the first one's commit (both take the customer's advisory
lock before they look, ``privacy.repository.lock_customers``) and then see what it did. The first side
holds until the second waits for its lock, or ran to its commit when nothing held it back
(``tests.lock_waits``), so without the lock the tests fail."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.privacy import repository, service
from tests.conftest import TEST_ACTOR
from tests.lock_waits import WAIT_S, LockWaits
from tests.parallel import in_parallel


@pytest.fixture(params=["customer", "wide"])
def lock_width(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test with the customers' locks, and with the wide lock a large batch takes instead."""
    if request.param == "wide":
        monkeypatch.setattr(repository, "WIDE_FROM", 0)


def paused(function: Callable[..., Any], waits: LockWaits) -> Callable[..., Any]:
    """``function``, which then holds its side of the race (``waits.hold``) before returning."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        waits.hold()
        return result

    return wrapper


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
    waits: LockWaits,
    pause_after_first: bool = False,
) -> tuple[dict[str, int], object]:
    """``writer`` and ``opt_out`` on two connections, the first (the writer if ``writer_first``) at once,
    the second once the first holds (``waits``, of two sides): in a ``paused`` function it calls, or,
    with ``pause_after_first``, when it has done its work and before it commits. The first side goes on
    once the second waits for its lock (or ran to its end). What the opt-out erased and what the writer
    answered."""
    roles = itertools.count()  # next() is atomic: one thread writes, the other opts out

    def work(session: Session) -> object:
        first = next(roles) == 0
        waits.join(session)
        if not first:
            assert waits.reached.wait(WAIT_S), f"the first side did not reach its hold in {WAIT_S:.0f} s"
        result = writer(session) if first == writer_first else opt_out(session)
        if first and pause_after_first:
            waits.hold()
        return result

    results = in_parallel(factory, work, 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    erased = next(r for r in results if isinstance(r, dict))
    written = next(r for r in results if r is not erased)
    return erased, written
