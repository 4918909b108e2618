"""Posts whose slot has come go out through their group's WeCom robot (a job every five minutes).

A refused or unreachable robot is tried again on the next runs, three times in all; then the post is
failed and the owner copies it by hand. A group robot without a URL any more turns the post into a task.
An error while sending or reading the answer (a fault, not the robot's refusal) fails the post at once:
the robot may have posted it, and a post is never sent again blindly.
Each attempt first claims itself on the post (a conditional ``attempts + 1`` on a still scheduled post
that no run is sending, ``kit.attempts.claim_attempt``) and commits the claim before the robot is called, so a
redelivered job or two runs at once never post it twice, a sent post is never sent again, and no lock
is held through a send (the job commits its own transactions, ``own_transactions``: on SQLite the claim
holds the database's write lock, which every writer of the app waits for). While a post is being sent
its ``done_at`` says since when; a run killed during the send leaves the post to the runs after
``SENDING_LEASE``, which outlasts any send (``groups.webhook.SEND_LIMIT_SECONDS``), and the first of
them fails it (``send_fault: LeaseExpired``): it may be in the group already, and WeCom keeps no id to
deduplicate by, so it is never posted twice. The answer is written only while the post is still that
attempt's and scheduled: a send that outlived its lease anyway never overwrites what came after it.

A robot takes 20 messages a minute (``kit.robot_budget``, counted with every other sender's): a post
over its robot's 20 is neither claimed nor sent, and a later run posts it, no attempt taken. A robot
answering ``errcode 45009`` gives the attempt back (the post stays scheduled, ``detail`` says why) until
the time its last attempt would have come (``GIVE_BACK_FOR`` after its slot); then it counts as any refusal.

A post goes out only into a group that is still active and still its member's when it is sent (the rule
of ``groups.live_codes.routes_into``, kept by the live codes' full alerts and the CRM's robot pushes too):
a group archived or handed over to another owner since the post was made (its robot went with it) takes
nothing, and the post fails at once, posted nowhere and never turned into a task (``GROUP_GONE``). The
claim itself asks the database (``repository.still_theirs``), so a group handed over after the run read
it is never posted into either: the claim takes nothing and the next run fails the post.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from time import monotonic
from typing import Any

import httpx
import structlog
from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.orm import Session

from neigou.feed import repository as repo
from neigou.feed.models import Delivery, GroupPost, PostStatus
from neigou.groups.webhook import Outcome, send_markdown
from neigou.kit import jobs, robot_budget
from neigou.kit.attempts import RunBudget, claim_attempt_within, finish_attempt, give_up_attempts
from neigou.kit.clock import not_before_now
from neigou.kit.events import Event, listen
from neigou.kit.i18n import Message
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings, settings_of
from neigou.kit.tracebacks import error_name
from neigou.organizations.models import DELETED_EVENT, ORGANIZATION_DELETED
from neigou.programs.repository import programs_of

DELIVER_JOB = "feed.deliver_posts"
# A post's ``detail`` when an error broke the send off (the error's class follows it, for the operator):
# the owner reads ``SEND_FAULT_NOTE`` in the page's language (``failed_note``), never the stored text.
SEND_FAULT = "send_fault"
SEND_FAULT_NOTE = Message(
    "The robot call broke off before the robot answered. It may be in the group already: check the group "
    "before copying it."
)
# A post's ``detail`` when its group was archived or handed over before it went out (``failed_note``).
GROUP_GONE = "group_gone"
GROUP_GONE_NOTE = Message(
    "The group was archived or handed over to another owner before this post went out: it was posted nowhere."
)
MAX_ATTEMPTS = 3
# How long a claimed post is left to the run sending it (its robot call waits 10 s at most per step).
SENDING_LEASE = timedelta(minutes=2)
# A post's ``detail`` when its sending run died during the send (``failed_note`` tells it as a broken send).
LEASE_LOST = f"{SEND_FAULT}: LeaseExpired"
# The runs come every five minutes (``DELIVER_JOB``'s schedule); a robot over its limit (``errcode 45009``)
# gets the attempt back until the post's last attempt would have come, ``MAX_ATTEMPTS`` runs after its slot.
RUN_EVERY = timedelta(minutes=5)
GIVE_BACK_FOR = MAX_ATTEMPTS * RUN_EVERY
log = structlog.get_logger(__name__)


@jobs.job(DELIVER_JOB, cron={"minute": "*/5"}, own_transactions=True)
def deliver_job(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Send every robot post whose slot has come."""
    deliver_due(session, at=at, settings=settings_of(session))


def deliver_due(
    session: Session, *, at: datetime, settings: Settings, transport: httpx.BaseTransport | None = None
) -> list[GroupPost]:
    """Send the due posts; returns those attempted (or turned into tasks) with their new status; a post
    a parallel run took is left to it. The robots' URLs are unsealed with the running application's
    ``settings``."""
    due = [p for p in repo.due_posts(session, at) if p.done_at is None or p.done_at <= at - SENDING_LEASE]
    robots = repo.robot_urls(session, {p.group_id for p in due}, Sealer.from_settings(settings))
    gone = repo.gone_groups(session, due)  # archived or handed over since: failed, never sent
    allow_private = settings.outbound_allow_private
    session.commit()  # the reads end here: nothing is held from now on but one post's claim
    # Still scheduled, and not being sent by a run that claimed it less than a lease ago.
    free = or_(GroupPost.done_at.is_(None), GroupPost.done_at <= at - SENDING_LEASE)
    claimable = and_(GroupPost.status == PostStatus.SCHEDULED, free)
    theirs = repo.still_theirs()
    done: list[GroupPost] = []
    budget = RunBudget(monotonic)
    for post in due:
        if budget.spent():  # the rest stays due: the next run takes it
            log.info("feed.run_budget_spent")
            break
        robot = robots.get(post.group_id)
        if post.done_at is not None or post.id in gone:
            _end_unsent(session, post, done, claimable=claimable, theirs=theirs)
            continue
        if robot is not None and post.attempts < MAX_ATTEMPTS and not robot_budget.take(robot, settings):
            continue  # the robot had its 20 this minute: not claimed, no attempt taken; a later run posts it
        # Claimed only while the group is still active and the member's: one handed over since the reads
        # above is claimed by no one, and the next run fails the post.
        claimed = claim_attempt_within(
            session,
            post,
            GroupPost.attempts,
            MAX_ATTEMPTS,
            claimable,
            theirs,
            status=PostStatus.FAILED,
            done_at=None,
        )
        if claimed and robot is None:
            post.delivery, post.status = Delivery.TASK, PostStatus.TO_COPY
        elif claimed:
            # Being sent since the claim (not the run's start: a run that sends many posts claims its
            # last ones long after it began, and a lease dated earlier would run out during their sends).
            post.done_at = not_before_now(at)
        session.commit()
        if not claimed:
            continue
        done.append(post)
        if robot is None:
            continue
        number = post.attempts  # the attempt this run claimed: its answer is written on it only
        try:
            outcome = send_markdown(
                robot, post.text, secret=None, at=at, transport=transport, allow_private=allow_private
            )
            unread = False
        except Exception as exc:  # a bug while sending or reading the answer, not a refusal (an outcome)
            # The robot may have posted it: the attempt is finished as failed (the owner sees why), not
            # left claimed to be sent again, blindly, once its lease ends.
            log.error("feed.send_failed", post_id=post.id, error=error_name(exc))
            outcome, unread = (
                Outcome(False, None, f"{SEND_FAULT}: {type(exc).__name__}"),
                True,
            )
        # Only while the post is still this attempt's and scheduled: a send that outlived its lease (the
        # next attempt claimed and made meanwhile) never overwrites what that attempt came to.
        answer: dict[str, object] = {"detail": outcome.detail, "done_at": None}
        sending = not_before_now(at)
        if outcome.ok:
            answer.update(status=PostStatus.SENT, done_at=at)
        elif robot_budget.hands_back(outcome.detail, at=sending, until=post.scheduled_at + GIVE_BACK_FOR):
            answer.update(attempts=number - 1)  # the robot was over its limit: tried again, uncounted
        elif unread or number >= MAX_ATTEMPTS:
            answer.update(status=PostStatus.FAILED)
        finish_attempt(
            session, post, GroupPost.attempts, number, GroupPost.status == PostStatus.SCHEDULED, **answer
        )
        session.commit()
        session.refresh(post)
    return done


def _end_unsent(
    session: Session,
    post: GroupPost,
    done: list[GroupPost],
    *,
    claimable: ColumnElement[bool],
    theirs: ColumnElement[bool],
) -> None:
    """Fail, unsent, a post whose run died during its send (``LEASE_LOST``: it may have been posted) or
    whose group is no longer its member's to post into (``GROUP_GONE``: posted nowhere, added to
    ``done``), each only while it still is so, then commit."""
    if post.done_at is not None:  # its run died during the send: it may have been posted
        give_up_attempts(
            session,
            post,
            GroupPost.attempts,
            claimable,
            GroupPost.done_at.is_not(None),
            status=PostStatus.FAILED,
            detail=LEASE_LOST,
            done_at=None,
        )
        session.commit()
        return
    failed = give_up_attempts(
        session,
        post,
        GroupPost.attempts,
        claimable,
        ~theirs,  # still gone now (a group handed back meanwhile gets the post)
        status=PostStatus.FAILED,
        detail=GROUP_GONE,
        done_at=None,
    )
    session.commit()
    if failed:
        session.refresh(post)
        done.append(post)


def failed_note(post: GroupPost) -> Message | None:
    """What the owner reads about a failed post, in the page's language: that a send broke off and the
    post may be in the group already, or that its group was archived or handed over before it went out;
    None for any other post."""
    if post.status is not PostStatus.FAILED:
        return None
    if (post.detail or "").startswith(SEND_FAULT):
        return SEND_FAULT_NOTE
    return GROUP_GONE_NOTE if post.detail == GROUP_GONE else None


@listen(DELETED_EVENT)
def fail_for_deleted_organization(session: Session, event: Event) -> None:
    """Fail every scheduled robot post of a deleted organization's programs (one statement)."""
    session.execute(
        update(GroupPost)
        .where(
            GroupPost.program_id.in_(programs_of(int(event.data["organization_id"]))),
            GroupPost.status == PostStatus.SCHEDULED,
        )
        .values(status=PostStatus.FAILED, detail=ORGANIZATION_DELETED)
        .execution_options(synchronize_session=False)
    )
