"""Posts whose slot has come go out through their group's WeCom robot (a job every five minutes).

A refused or unreachable robot is tried again on the next runs, three times in all; then the post is
failed and the owner copies it by hand. A group robot without a URL any more turns the post into a task.
Each attempt first claims itself on the post (a conditional ``attempts + 1`` on a still scheduled post,
``kit.db.claim_attempt``), so a redelivered job or two runs at once never post it twice and a sent post
is never sent again; the claim commits with the run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from neigou.feed import repository as repo
from neigou.feed.models import Delivery, GroupPost, PostStatus
from neigou.groups.webhook import send_markdown
from neigou.kit import jobs
from neigou.kit.db import claim_attempt
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings, settings_of

DELIVER_JOB = "feed.deliver_posts"
MAX_ATTEMPTS = 3


@jobs.job(DELIVER_JOB, cron={"minute": "*/5"})
def deliver_job(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Send every robot post whose slot has come."""
    deliver_due(session, at=at, settings=settings_of(session))


def deliver_due(
    session: Session, *, at: datetime, settings: Settings, transport: httpx.BaseTransport | None = None
) -> list[GroupPost]:
    """Send the due posts; returns those attempted (or turned into tasks) with their new status; a post
    a parallel run took is left to it. The robots' URLs are unsealed with the running application's
    ``settings``."""
    due = repo.due_posts(session, at)
    robots = repo.robot_urls(session, {p.group_id for p in due}, Sealer.from_settings(settings))
    scheduled = GroupPost.status == PostStatus.SCHEDULED
    done: list[GroupPost] = []
    for post in due:
        robot = robots.get(post.group_id)
        if not claim_attempt(session, post, GroupPost.attempts, scheduled):
            continue
        done.append(post)
        if robot is None:
            post.delivery, post.status = Delivery.TASK, PostStatus.TO_COPY
            continue
        outcome = send_markdown(robot, post.text, secret=None, at=at, transport=transport)
        post.detail = outcome.detail
        if outcome.ok:
            post.status, post.done_at = PostStatus.SENT, at
        elif post.attempts >= MAX_ATTEMPTS:
            post.status = PostStatus.FAILED
    session.flush()
    return done
