"""WeCom group robots take at most 20 messages a minute each; past that they answer ``errcode 45009``.

Every sender that posts through a robot (the CRM's push messages, the feed's group posts, a full live
code's alert, the daily group alerts) keeps three rules, with the names here:

* Before each post, :func:`take` counts it against a moving window of 20 a minute per robot, with
  ``limits`` (as the landing page's claims are counted, ``links.ratelimit``): on Redis when
  ``NEIGOU_REDIS_URL`` is set (shared by every worker and every sender), else in the process's memory.
  A post over its robot's 20 is not claimed and not sent: it takes no attempt and a later run sends it.
  The counter's key is the robot URL's SHA-256 (:func:`robot_key`), never the URL, which carries the
  robot's key.
* A robot answering ``errcode 45009`` (over its limit all the same: another sender, another process's
  memory) gets its attempt back (:func:`hands_back`, the answer's summary :data:`RATE_LIMITED`): the
  post stays waiting and is tried again later, until the time it would have been given up after its
  last backoff, so a robot that never takes it still ends it as failed.
* A post whose sending run died during the send (its lease ran out before an answer was written) may be
  in the group already: WeCom keeps no id to deduplicate by, so it is failed (:data:`LEASE_LOST`, a
  summary ``kit.attempts.refusal_note`` tells as "it may have been posted"), never posted twice; so is
  one whose send broke off (a fault while sending or reading the answer: ``groups.webhook.broken_send``),
  which may have reached the group too (:func:`may_have_posted`). A post that failed before it was
  posted (refused, unreachable, over the budget) stays retryable.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta

from limits import parse, storage, strategies
from limits.storage import MemoryStorage

from neigou.kit.attempts import refusal
from neigou.kit.settings import Settings
from neigou.kit.streams import namespace

PER_ROBOT = parse("20/minute")
# The budget's window: a post over it is worth trying again this long later (not at a sender's next
# scheduled run, an hour away for the daily group alerts).
WINDOW = timedelta(seconds=PER_ROBOT.get_expiry())
# WeCom's answer to a robot over its 20 a minute, and the fixed summary an attempt so answered keeps.
RATE_LIMITED_ERRCODE = 45009
RATE_LIMITED = refusal(200, errcode=RATE_LIMITED_ERRCODE)
# What a robot post whose sending run died before it reported (its lease over) is failed with.
# Every summary of a send that may have reached the group ends so (``groups.webhook.broken_send``'s too).
MAY_HAVE_POSTED = "; it may have been posted"
LEASE_LOST = "LeaseExpired while sending" + MAY_HAVE_POSTED
_LIMITERS: dict[str, strategies.MovingWindowRateLimiter] = {}
_GUARD = threading.Lock()


def _limiter(storage_uri: str) -> strategies.MovingWindowRateLimiter:
    with _GUARD:
        found = _LIMITERS.get(storage_uri)
        if found is None:
            found = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
            _LIMITERS[storage_uri] = found
        return found


def robot_key(url: str) -> str:
    """What names a robot in its counter: the SHA-256 of its URL (never the URL: it carries the key)."""
    return hashlib.sha256(url.encode()).hexdigest()


def take(url: str, settings: Settings) -> bool:
    """Count one message for the robot at ``url``; False (nothing counted) when it had its 20 this minute.
    Every sender counts in the same window: a robot is one robot whoever posts through it."""
    limiter = _limiter(settings.redis_client_url or "memory://")
    return limiter.hit(PER_ROBOT, namespace(settings.database_url) + ":robot", robot_key(url))


def hands_back(detail: str | None, *, at: datetime, until: datetime) -> bool:
    """Whether an attempt that came to ``detail`` at ``at`` is given back (not counted): the robot was
    over its limit (``errcode 45009``) and the post's last backoff (``until``) has not come."""
    return detail == RATE_LIMITED and at < until


def may_have_posted(detail: str | None) -> bool:
    """Whether a failed post's summary says it may be in the group (its lease ran out, or its send broke
    off): such a post is never sent again, as WeCom keeps no id to deduplicate by."""
    return detail is not None and detail.endswith(MAY_HAVE_POSTED)


def forget() -> None:
    """Drop the counters kept in this process's memory (a test's fresh start); Redis's are left alone."""
    with _GUARD:
        for limiter in _LIMITERS.values():
            if isinstance(limiter.storage, MemoryStorage):
                limiter.storage.reset()
