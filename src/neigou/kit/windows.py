"""Rate-limit windows (the ``limits`` library's moving windows): how long a refusal lasts."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from limits import RateLimitItem, strategies


def seconds_until_free(
    limiter: strategies.RateLimiter, counters: Iterable[tuple[RateLimitItem, str, str]]
) -> int:
    """Seconds until every full window among ``counters`` (an item and its keys each) has room again:
    the latest reset of a full one, at least 1, for a refusal's ``Retry-After``."""
    resets = [
        limiter.get_window_stats(item, *keys).reset_time
        for item, *keys in counters
        if not limiter.test(item, *keys)
    ]
    return max(1, math.ceil(max(resets, default=time.time()) - time.time()))
