"""Work started at once on real parallel connections (PostgreSQL concurrency tests)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
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


def race(
    factory: sessionmaker[Session], attempt: Callable[[int], str], attempts: int, threads: int
) -> Counter[str]:
    """Run ``attempt(i)`` for every i below ``attempts`` on ``threads`` threads of ``in_parallel``, released
    together; each thread takes the next attempt as soon as its last one is done. Each attempt owns its
    unit of work (the thread's session stays unused). The outcomes counted; an attempt's unexpected
    exception is raised."""
    numbers = itertools.count()  # next() on it is atomic: each attempt is taken once

    def work(_session: Session) -> list[str]:
        taken = []
        while (i := next(numbers)) < attempts:
            taken.append(attempt(i))
        return taken

    outcomes: Counter[str] = Counter()
    for result in in_parallel(factory, work, threads):
        if isinstance(result, Exception):
            raise result
        assert isinstance(result, list)
        outcomes.update(result)
    return outcomes
