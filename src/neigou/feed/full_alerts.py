"""A group live code whose groups are all full alerts its owner through a group robot.

``groups.live_codes`` announces ``group.live_code_full`` once per full spell; the listener here marks
the alert's robot message pending (with the event's data, which the message is made of) and defers
its first attempt as a job keyed by the alert, run after the scan's commit, never inside the scan.
The message is one markdown post through the WeCom robot of the code's first group, in rotation
order, that has one; the owner sits in that group. A refused or unreachable robot (a timeout, an HTTP
error, ``errcode`` ≠ 0) is tried again by a job every minute after the integrations' backoff (30 s,
2 min, 8 min, 32 min); after ``MAX_ATTEMPTS`` the message is failed, which the owner sees on
``/m/live-codes`` and in the API. Each attempt first claims itself on the alert row (a conditional
``robot_attempts + 1`` on a still pending row, whose next attempt moves to where this one's failure
would put it) and commits the claim before the robot is called, so parallel runs never send one message
twice, a sent message is never sent again, and no lock is held through a send (the jobs commit their own
transactions, ``own_transactions``: on SQLite a claim holds the database's write lock); the answer is
written in a second short transaction, only while the message is still that attempt's and pending (a
send that outlived its lease never overwrites what the next attempt came to). While a run sends the
message, ``robot_sent_at`` (still ``pending``) says since when; a run killed during the send leaves it
so, and the first retry after the lease fails the message (``kit.robot_budget.LEASE_LOST``): it may be
in the group already, and WeCom keeps no id to deduplicate by, so it is never posted twice.

A robot takes 20 messages a minute (``kit.robot_budget``, counted with every other sender's): a
message over its robot's 20 is neither claimed nor sent, and a later retry sends it, no attempt taken.
A robot answering ``errcode 45009`` gives the attempt back (still pending, tried again after the
claim's backoff) until the time the message would have been given up after its last backoff
(``integrations.events.waited``). A code none of whose groups has a robot is alerted in the app only
(``no_robot``). Deleting the code's organization fails a pending message with ``organization_deleted``,
in the deletion's transaction; a first attempt queued before it asks again before it sends, and sends
nothing (nor do the retries: their query leaves such codes out). The program's integrations get the
same event as an outbound webhook
(``integrations.events``). The robot's URL carries its key: it is never logged or stored elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from time import monotonic
from typing import Any

import httpx
import structlog
from sqlalchemy import ColumnElement, Update, or_, select, update
from sqlalchemy.orm import Session

from neigou.feed import repository as repo
from neigou.groups import live_code_repository as live_repo
from neigou.groups import repository as groups
from neigou.groups.live_codes import LIVE_CODE_FULL
from neigou.groups.models import LiveCode, LiveCodeAlert, RobotAlertStatus
from neigou.groups.webhook import SEND_BOUND, Outcome, broken_send, fit, send_markdown
from neigou.integrations.events import backoff, waited
from neigou.kit import jobs, robot_budget
from neigou.kit.attempts import RunBudget, claim_attempt_within, finish_attempt, give_up_attempts
from neigou.kit.clock import not_before_now
from neigou.kit.events import Event, listen
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings, settings_of
from neigou.kit.tracebacks import error_name
from neigou.organizations.models import DELETED_EVENT, ORGANIZATION_DELETED
from neigou.programs.repository import of_deleted_organization, programs_of

ALERT_JOB = "feed.live_code_full"
RETRY_JOB = "feed.retry_live_code_full"
MAX_ATTEMPTS = 5
BATCH = 100
log = structlog.get_logger(__name__)


@listen(LIVE_CODE_FULL)
def queue_robot_alert(session: Session, event: Event) -> None:
    """Mark the alert's robot message pending and send it after the scan's commit."""
    alert = session.get(LiveCodeAlert, int(event.data["alert_id"]))
    if alert is None:
        return
    alert.robot_status, alert.robot_attempts = RobotAlertStatus.PENDING, 0
    alert.robot_next_attempt_at, alert.robot_payload = event.at, dict(event.data)
    session.flush()
    jobs.defer(session, ALERT_JOB, key=f"live-code-full:{alert.id}", payload={"alert_id": alert.id})


@jobs.job(ALERT_JOB, own_transactions=True)
def robot_alert_job(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """The first attempt of an alert's robot message."""
    alert = session.get(LiveCodeAlert, int(payload["alert_id"]))
    if alert is None or alert.robot_attempts != 0:
        return
    live_code = session.get(LiveCode, alert.live_code_id)
    if live_code is not None and of_deleted_organization(session, live_code.program_id):
        # Queued before its organization was deleted (and left pending by a deletion without its
        # listeners): failed as the deletion fails it, never sent.
        session.execute(_fail_pending(LiveCodeAlert.id == alert.id))
        session.commit()
        return
    attempt(session, alert, at=at, settings=settings_of(session))


def _fail_pending(which: ColumnElement[bool]) -> Update:
    """Fail the pending robot messages of the alerts ``which`` names, for a deleted organization."""
    return (
        update(LiveCodeAlert)
        .where(which, LiveCodeAlert.robot_status == RobotAlertStatus.PENDING)
        .values(
            robot_status=RobotAlertStatus.FAILED,
            robot_detail=ORGANIZATION_DELETED,
            robot_next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )


@listen(DELETED_EVENT)
def fail_for_deleted_organization(session: Session, event: Event) -> None:
    """Fail every pending robot message of a deleted organization's live codes, in the deletion's
    transaction (one statement): its retries and its first attempts' queued jobs then find nothing."""
    codes = select(LiveCode.id).where(
        LiveCode.program_id.in_(programs_of(int(event.data["organization_id"])))
    )
    session.execute(_fail_pending(LiveCodeAlert.live_code_id.in_(codes)))


@jobs.job(RETRY_JOB, cron={"minute": "*"}, own_transactions=True)
def retry_due(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Try again the robot messages whose backoff has passed (oldest first, ``BATCH`` per run)."""
    settings = settings_of(session)
    due = live_repo.robot_alerts_due(session, at, limit=BATCH)
    session.commit()
    budget = RunBudget(monotonic)
    for alert in due:
        if budget.spent():  # the rest stays due: the next run takes it
            log.info("live_code.run_budget_spent")
            break
        attempt(session, alert, at=at, settings=settings)


def attempt(
    session: Session,
    alert: LiveCodeAlert,
    *,
    at: datetime,
    settings: Settings,
    transport: httpx.BaseTransport | None = None,
) -> Outcome | None:
    """Send the alert's robot message once now and record the answer; None when nothing was sent
    (not pending, no robot, or this attempt was taken by a parallel run). The robot's URL is unsealed
    with the running application's ``settings``. The caller's own transactions: the claim commits
    before the send and the answer after it (see the module's docstring)."""
    payload = alert.robot_payload
    if alert.robot_status is not RobotAlertStatus.PENDING or payload is None:
        return None
    url = robot_url(session, payload, Sealer.from_settings(settings))
    if url is None:
        alert.robot_status, alert.robot_next_attempt_at = RobotAlertStatus.NO_ROBOT, None
        session.commit()
        return None
    text = message(session, payload)
    pending = LiveCodeAlert.robot_status == RobotAlertStatus.PENDING
    # A retry only once due: a run that read the alert before another claimed its attempt finds the
    # next one not due yet (the claim moved it), so two runs never send the message at once.
    due = or_(LiveCodeAlert.robot_attempts == 0, LiveCodeAlert.robot_next_attempt_at <= at)
    if alert.robot_sent_at is not None:  # its run died during the send: it may have been posted
        gone = LiveCodeAlert.robot_sent_at.is_not(None)
        give_up_attempts(
            session,
            alert,
            LiveCodeAlert.robot_attempts,
            pending,
            due,
            gone,
            robot_status=RobotAlertStatus.FAILED,
            robot_detail=robot_budget.LEASE_LOST,
            robot_next_attempt_at=None,
            robot_sent_at=None,
        )
        session.commit()
        session.refresh(alert)
        return None
    if alert.robot_attempts < MAX_ATTEMPTS and not robot_budget.take(url, settings):
        session.commit()  # the robot had its 20 this minute: not claimed, no attempt taken; a retry sends it
        return None
    claimed = claim_attempt_within(
        session,
        alert,
        LiveCodeAlert.robot_attempts,
        MAX_ATTEMPTS,
        pending,
        due,
        robot_status=RobotAlertStatus.FAILED,
        robot_next_attempt_at=None,
    )
    if claimed:
        # No retry finds the message due until this attempt's answer is written: the lease is the
        # backoff, and never shorter than the longest a send takes (groups.webhook.SEND_BOUND).
        # Counted from the claim, not the run's start (a run claims its last retries long after it began).
        # On its way since the claim: a run killed during the send leaves it so (see the module).
        alert.robot_sent_at = not_before_now(at)
        alert.robot_next_attempt_at = alert.robot_sent_at + max(backoff(alert.robot_attempts), SEND_BOUND)
    session.commit()  # the claim is taken: nothing is held through the send
    if not claimed:
        return None
    number = alert.robot_attempts  # the attempt this run claimed: its answer is written on it only
    allow = settings.outbound_allow_private
    at = not_before_now(at)  # sent, and dated, now: a run reaches its last retries long after it began
    try:
        outcome = send_markdown(url, text, secret=None, at=at, transport=transport, allow_private=allow)
        broken = False
    except Exception as exc:  # a fault while sending or reading the answer: the attempt still ends
        log.error("live_code_full.send_failed", alert_id=alert.id, error=error_name(exc))
        outcome, broken = broken_send(exc), True  # it may have been posted: never sent again blindly
    # Written only while the message is still this attempt's and pending: a send that outlived its lease
    # (the next attempt claimed and made meanwhile) never overwrites what that later attempt came to.
    answer: dict[str, object] = {"robot_detail": outcome.detail, "robot_sent_at": None}
    if outcome.ok:
        answer.update(robot_status=RobotAlertStatus.SENT, robot_sent_at=at, robot_next_attempt_at=None)
    elif robot_budget.hands_back(outcome.detail, at=at, until=alert.created_at + waited(MAX_ATTEMPTS)):
        answer.update(robot_attempts=number - 1)  # the robot was over its limit: tried again, uncounted
    elif broken or number >= MAX_ATTEMPTS:
        answer.update(robot_status=RobotAlertStatus.FAILED, robot_next_attempt_at=None)
    finish_attempt(session, alert, LiveCodeAlert.robot_attempts, number, pending, **answer)
    session.commit()
    session.refresh(alert)
    if not outcome.ok:
        log.warning(
            "live_code_full.robot_refused",
            alert_id=alert.id,
            live_code=payload["live_code"],
            attempt=number,
            status=str(alert.robot_status),
            detail=outcome.detail,
        )
    return outcome


def robot_url(session: Session, payload: dict[str, Any], sealer: Sealer) -> str | None:
    """The URL of the first robot among the code's groups, in rotation order, that are still the code
    owner's when the message goes out (a group handed over meanwhile has its new owner's chat)."""
    owner = int(payload["owner_member_id"])
    listed = [int(g["group_id"]) for g in payload["groups"]]
    owned = {g.id for g in groups.groups_by_id(session, listed) if g.owner_member_id == owner}
    order = [g for g in listed if g in owned]
    robots = repo.robot_urls(session, order, sealer)
    first = next((g for g in order if g in robots), None)
    return None if first is None else robots[first]


def message(session: Session, payload: dict[str, Any]) -> str:
    """The robot's markdown: the code, the capacity and each group's latest count."""
    names = {
        g.id: g.name for g in groups.groups_by_id(session, [int(g["group_id"]) for g in payload["groups"]])
    }
    head = [
        f"**活码 {payload['live_code']} 的群都满了**",
        f"每群上限 {payload['capacity']} 人，新访客已看到满群提示。请新建一个群，加入活码并上传它的群二维码。",
    ]
    lines = [
        f"> {names.get(int(g['group_id']), '#' + str(g['group_id']))}：{g['members']} 人"
        for g in payload["groups"]
    ]
    return fit([*head, *lines], more="…另有 {n} 个群")
