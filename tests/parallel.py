"""Work started at once on real parallel connections (PostgreSQL concurrency tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


def in_parallel(factory: sessionmaker[Session], work: Callable[[Session], Any], count: int) -> list[object]:
    """Run ``work`` in ``count`` threads, each with its own session, released together by a barrier;
    each commits and gives its result, or rolls back and gives its exception (one entry per thread).
    The results in the order they finished."""
    barrier = threading.Barrier(count)
    results: list[object] = []

    def run() -> None:
        with factory() as session:
            barrier.wait()
            try:
                result = work(session)
                session.commit()  # a result counts only once committed
                results.append(result)
            except Exception as exc:
                session.rollback()
                results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
