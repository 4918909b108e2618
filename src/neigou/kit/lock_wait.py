"""A bounded wait for a row lock that long-running shared lockers may keep from being granted.

PostgreSQL grants a new ``FOR KEY SHARE`` while a ``FOR UPDATE`` waits for the ones already held, so a
request asking for ``FOR UPDATE`` on a row that order intake reads ``FOR KEY SHARE`` (a program during a
file import's continuous batches) could wait as long as intake runs, holding its admission slot, a
thread and a connection. Inside :func:`bounded_lock_wait` it waits at most ``lock_wait_ms``
(``NEIGOU_LOCK_WAIT_MS``); past it PostgreSQL refuses (``55P03``, lock not available), the transaction
rolls back with nothing written, and the request is answered like a shed one: 503 ``overloaded`` with
``Retry-After`` (``web.admission``). SQLite serialises writers on its write lock instead (its busy
timeout bounds that wait, answered the same), so nothing is set there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from neigou.kit.settings import settings_of

_SET = text("SELECT set_config('lock_timeout', :value, true)")


@contextmanager
def bounded_lock_wait(session: Session) -> Iterator[None]:
    """Lock waits inside this block last at most the settings' ``lock_wait_ms`` on PostgreSQL (set for
    the transaction, ``SET LOCAL``); the one in force before is put back after it."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(text("SELECT current_setting('lock_timeout')"))
    session.execute(_SET, {"value": f"{settings_of(session).lock_wait_ms}ms"})
    try:
        yield
    except DBAPIError:
        raise  # the transaction is aborted (a lock timeout among others): the setting ends with it
    except BaseException:
        session.execute(_SET, {"value": before})  # a refusal of ours (a 404): the transaction goes on
        raise
    session.execute(_SET, {"value": before})
