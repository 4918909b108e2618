"""Running a coroutine from a test, whatever loop the worker's thread already has.

A session-wide Playwright browser keeps an event loop running on the test thread, so a plain
``asyncio.run`` fails in any test that runs after a browser test in the same worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` on a thread of its own; returns its result or raises its error."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coroutine).result()
