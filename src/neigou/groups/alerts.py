"""Daily group-target alerts: stored rows for the console and workspace, and one robot message.

Every hour (``groups.alert_tick``) each program with a schedule whose local time is past
``ALERT_HOUR`` gets its alert for the day that just ended: the groups that missed their target
that day and the groups that will miss the next checkpoint at their pace. The alert of a program
and date runs under the job key ``groups.alert:{program}:{date}``, so it is built and sent once;
a failed delivery is recorded and retried by later ticks under ``…#2``, ``…#3`` (at most
``MAX_ATTEMPTS``), and a date whose message was sent is never sent again whatever the key.

Each attempt claims itself on the date's delivery row (inserts it, or a conditional ``attempts + 1`` on
a failed one) and marks it ``sending``, and commits before the robot is called; the answer is written in
a second short transaction, only while the row is still that attempt's and ``sending`` (a send that
outlived its lease never overwrites what the next attempt came to). So no lock is held through a send (the job commits its own transactions,
``own_transactions``: on SQLite the claim holds the database's write lock, which every writer of the app
waits for), and two runs never send one attempt. A delivery left ``sending`` for ``SENDING_LEASE`` (its
run was killed during the send) may be in the group already: WeCom keeps no id to deduplicate by, so
the next tick or run fails it for good (``kit.robot_budget.LEASE_LOST``), never sending it again.

A send that broke off (``webhook.broken_send``) may have been posted too, and is failed for good the same
way; one that failed before posting (refused, unreachable) stays retryable.

A robot takes 20 messages a minute (``kit.robot_budget``, counted with every other sender's): an alert
over its robot's 20 is not sent, and its attempt is given back (``failed``, ``robot busy``, its count
unchanged) and queued again a budget's window later (``robot_budget.WINDOW``, huey's schedule), not
at the next hourly tick. A robot answering ``errcode 45009`` gives the attempt back the same way until
the time its last attempt would have come (``MAX_ATTEMPTS`` ticks after the morning's first,
``give_back_until``); then it counts as any refusal. A given-back attempt's retry is queued under a key
of its own (the attempt's number and time: ``alert_key``), as the number is used again: the delayed
retry and the next tick's share it, so it runs once.

A first attempt's run killed before it committed its claim (the delivery row and the alert rows go in
one transaction) leaves its key taken in ``job_runs`` and no delivery. Once that key is ``SENDING_LEASE``
old, the ticks queue the date under a restart key (``…~2``, ``…~3``: :func:`first_attempt_key`), at most
``MAX_ATTEMPTS`` of them, so the date's alert is not lost until the next day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import structlog
from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import alert_queries, webhook
from neigou.groups import repository as repo
from neigou.groups.alert_message import message
from neigou.groups.compliance import Compliance, compliance
from neigou.groups.models import AlertDelivery, AlertKind, DeliveryStatus, GroupAlert
from neigou.groups.settings import alert_robot, settings_of
from neigou.kit import jobs, robot_budget
from neigou.kit.actor import SYSTEM, Actor
from neigou.kit.attempts import claim_attempt, finish_attempt, give_up_attempts
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.clock import not_before_now, utcnow
from neigou.kit.dates import check_day
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from neigou.kit.settings import settings_of as app_settings_of
from neigou.kit.tracebacks import error_name
from neigou.programs.models import Program
from neigou.programs.repository import of_deleted_organization
from neigou.programs.service import require_program

TICK_JOB = "groups.alert_tick"
ALERT_JOB = "groups.send_alert"
ALERT_HOUR = 9
MAX_ATTEMPTS = 5
# How long an attempt on its way is left to its run (the robot call waits 10 s at most per step).
SENDING_LEASE = timedelta(minutes=10)
# The ticks come every hour (``TICK_JOB``'s schedule).
TICK_EVERY = timedelta(hours=1)
# An attempt given back because the robot had its 20 messages this minute (``kit.robot_budget``).
ROBOT_BUSY = "robot busy"

log = structlog.get_logger(__name__)


def retryable(delivery: AlertDelivery) -> bool:
    """Whether the delivery may be tried again: it failed before it could be posted, not because its run
    was killed during the send (:func:`give_up_lost`) nor because the send broke off."""
    return delivery.status is DeliveryStatus.FAILED and not robot_budget.may_have_posted(delivery.detail)


def _not_posted() -> ColumnElement[bool]:
    """:func:`retryable` in SQL: a failed delivery whose summary does not say it may have been posted."""
    maybe = AlertDelivery.detail.endswith(robot_budget.MAY_HAVE_POSTED, autoescape=True)
    return and_(AlertDelivery.status == DeliveryStatus.FAILED, or_(AlertDelivery.detail.is_(None), ~maybe))


def _lost_send(at: datetime) -> ColumnElement[bool]:
    """A delivery still ``sending`` a lease after its claim: its run was killed during the send."""
    return and_(
        AlertDelivery.status == DeliveryStatus.SENDING, AlertDelivery.attempted_at <= at - SENDING_LEASE
    )


def give_up_lost(session: Session, delivery: AlertDelivery, at: datetime) -> bool:
    """Fail for good a delivery whose run was killed during the send (still ``sending`` past its lease):
    the robot may have posted it, and it is never sent again. True when it was such a delivery."""
    if delivery.status is not DeliveryStatus.SENDING or delivery.attempted_at > at - SENDING_LEASE:
        return False
    failed = {"status": DeliveryStatus.FAILED, "http_status": None, "detail": robot_budget.LEASE_LOST}
    give_up_attempts(session, delivery, AlertDelivery.attempts, _lost_send(at), **failed)
    session.refresh(delivery)
    return True


def give_back_until(program: Program, on: date) -> datetime:
    """Until when a robot over its limit (``errcode 45009``) gives a date's attempt back: the time of the
    tick after the one that would make its last attempt, counted from the morning's first."""
    first = datetime.combine(on + timedelta(days=1), time(ALERT_HOUR), ZoneInfo(program.timezone))
    return first + MAX_ATTEMPTS * TICK_EVERY


def alert_key(program_id: int, on: date, attempt: int = 1, *, given_back: datetime | None = None) -> str:
    """The job key of a program's alert for a date (retries get their own; the retry of an attempt given
    back, whose number comes again, also names the time it was made: ``given_back``)."""
    base = f"groups.alert:{program_id}:{on.isoformat()}"
    key = base if attempt == 1 else f"{base}#{attempt}"
    return key if given_back is None else f"{key}@{given_back.strftime('%Y%m%dT%H%M%S')}"


def first_attempt_key(session: Session, program_id: int, on: date, now: datetime) -> str | None:
    """The key to queue a date's first attempt under: :func:`alert_key`, or while runs under it were
    killed before they claimed the delivery (the key taken ``SENDING_LEASE`` ago, no delivery row), the
    next restart's (``…~2``, ``…~3``); None after ``MAX_ATTEMPTS`` restarts. A key taken less long ago
    may be a run still on its way: it is queued again, a no-op."""
    base = alert_key(program_id, on)
    for key in [base, *(f"{base}~{restart}" for restart in range(2, MAX_ATTEMPTS + 2))]:
        run = session.get(jobs.JobRun, key)
        if run is None or run.finished_at > now - SENDING_LEASE:
            return key
    return None


def require_ended(program: Program, on: date) -> None:
    """Refuse a date that has not ended in the program's time zone: its alert would be built from a day
    still going on and mark the date delivered, so the morning's real alert of that date never went out."""
    if on >= utcnow().astimezone(ZoneInfo(program.timezone)).date():
        raise Invalid(
            Message("An alert covers a day that has ended: choose a date before today."),
            code="date_not_ended",
        )


def queue_alert(session: Session, *, program_id: int, on: date, actor: Actor = SYSTEM) -> str | None:
    """Defer the alert of a program and date unless it was delivered (or gave up); its key."""
    check_day(on, "date")
    delivery = alert_queries.get_delivery(session, program_id, on)
    if delivery is not None and give_up_lost(session, delivery, utcnow()):
        return None  # its run was killed during the send: it may have been posted, never sent again
    if delivery is not None and (not retryable(delivery) or delivery.attempts >= MAX_ATTEMPTS):
        return None
    if delivery is None:
        key = first_attempt_key(session, program_id, on, utcnow())
        if key is None:
            return None
    else:
        given_back = delivery.detail in (ROBOT_BUSY, robot_budget.RATE_LIMITED)
        key = alert_key(
            program_id, on, delivery.attempts + 1, given_back=delivery.attempted_at if given_back else None
        )
    jobs.defer(session, ALERT_JOB, key=key, payload={"program_id": program_id, "date": on.isoformat()})
    if actor is not SYSTEM:
        audit.record(
            session,
            actor=actor,
            action="group.alerts.run",
            entity="program",
            entity_id=program_id,
            after={"date": on.isoformat(), "key": key},
        )
    return key


@jobs.job(TICK_JOB, cron={"minute": "5"})
def alert_tick(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Queue yesterday's alert of every program whose morning has come."""
    for program_id in repo.programs_with_schedules(session):
        program = require_program(session, program_id)
        local = at.astimezone(ZoneInfo(program.timezone))
        if local.hour >= ALERT_HOUR:
            queue_alert(session, program_id=program_id, on=local.date() - timedelta(days=1))


@jobs.job(ALERT_JOB, own_transactions=True)
def send_alert(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """Build and deliver one program's alert for one date; nothing once the program's organization is
    deleted (an alert queued before the deletion runs after it)."""
    program_id = int(payload["program_id"])
    if of_deleted_organization(session, program_id):
        log.info("group_alert.organization_deleted", program_id=program_id)
        return
    deliver_alert(
        session,
        program_id=program_id,
        on=date.fromisoformat(payload["date"]),
        at=at,
        settings=app_settings_of(session),
    )


def build_alerts(
    session: Session, *, program: Program, on: date, at: datetime
) -> tuple[Compliance, list[GroupAlert]]:
    """Store the alert rows of a program and date (replacing earlier ones of that date)."""
    report = compliance(session, program=program, on=on)
    session.execute(
        delete(GroupAlert).where(GroupAlert.program_id == program.id, GroupAlert.alert_date == on)
    )
    rows: list[GroupAlert] = []
    for standing in report.missed:
        if standing.required is not None:
            rows.append(
                GroupAlert(
                    program_id=program.id,
                    group_id=standing.group_id,
                    owner_member_id=standing.owner_member_id,
                    alert_date=on,
                    kind=AlertKind.MISSED,
                    required=standing.required,
                    actual=standing.actual,
                    created_at=at,
                )
            )
    for standing in report.at_risk:
        forecast = standing.forecast
        if forecast is not None:
            rows.append(
                GroupAlert(
                    program_id=program.id,
                    group_id=standing.group_id,
                    owner_member_id=standing.owner_member_id,
                    alert_date=on,
                    kind=AlertKind.AT_RISK,
                    required=forecast.required,
                    actual=standing.actual,
                    checkpoint_on=forecast.on,
                    projected=forecast.projected,
                    created_at=at,
                )
            )
    session.add_all(rows)
    session.flush()
    return report, rows


def deliver_alert(
    session: Session,
    *,
    program_id: int,
    on: date,
    at: datetime,
    settings: Settings | None = None,
    transport: httpx.BaseTransport | None = None,
) -> AlertDelivery:
    """Build the alert and send it to the program's robot, once per program and date. The robot's URL
    and signing secret are unsealed with the running application's ``settings`` (by default those of
    ``session``). The caller's own transactions: the attempt is claimed and the alert rows built in a
    first one, committed before the send; the answer is written in a second (see the module)."""
    program = require_program(session, program_id)
    delivery, claimed = _claim(session, program_id, on, at)
    if not claimed:  # sent, skipped, or on its way in another run
        session.commit()
        return delivery
    report, rows = build_alerts(session, program=program, on=on, at=at)
    group_settings = settings_of(session, program_id)
    running = settings or app_settings_of(session)
    sealer = Sealer.from_settings(running)
    robot = alert_robot(group_settings, sealer) if rows else None
    if not rows:
        delivery.status, delivery.detail = DeliveryStatus.SKIPPED, "nothing to report"
    elif robot is None:
        delivery.status, delivery.detail = DeliveryStatus.SKIPPED, "no webhook configured"
    elif not robot_budget.take(robot.url, running):
        # The robot had its 20 this minute: nothing is sent and the attempt is given back: queued a minute later.
        delivery.status, delivery.detail, delivery.attempts = (
            DeliveryStatus.FAILED,
            ROBOT_BUSY,
            delivery.attempts - 1,
        )
        _retry_soon(session, delivery, attempts=delivery.attempts)
        robot = None
    text = message(program, report) if robot is not None else ""
    session.commit()  # the claim and the rows: nothing is held through the send
    if robot is None:
        return delivery
    number = delivery.attempts  # the attempt this run claimed: its answer is written on it only
    try:
        # Signed with the time it is sent: a tick sending many programs' alerts reaches its last ones
        # long after it began, and the robot refuses a signature's timestamp that old.
        outcome = webhook.send_markdown(
            robot.url,
            text,
            secret=robot.secret,
            at=not_before_now(at),
            transport=transport,
            allow_private=running.outbound_allow_private,
        )
    except Exception as exc:  # a fault while sending or reading the answer: the attempt still ends
        log.error("group_alert.send_failed", delivery_id=delivery.id, error=error_name(exc))
        outcome = webhook.broken_send(exc)
    # Only while the delivery is still this attempt's and on its way: a send that outlived its lease
    # (the next attempt claimed and made meanwhile) never overwrites what that attempt came to.
    answer: dict[str, object] = {
        "status": DeliveryStatus.SENT if outcome.ok else DeliveryStatus.FAILED,
        "http_status": outcome.http_status,
        "detail": outcome.detail,
    }
    given_back = robot_budget.hands_back(
        outcome.detail, at=not_before_now(at), until=give_back_until(program, on)
    )
    if given_back:
        answer["attempts"] = number - 1  # the robot was over its limit: tried again, uncounted
    written = finish_attempt(
        session,
        delivery,
        AlertDelivery.attempts,
        number,
        AlertDelivery.status == DeliveryStatus.SENDING,
        **answer,
    )
    if written and given_back:
        _retry_soon(session, delivery, attempts=number - 1)
    session.commit()
    session.refresh(delivery)
    return delivery


def _retry_soon(session: Session, delivery: AlertDelivery, *, attempts: int) -> None:
    """Queue again, a robot budget's window later, an attempt given back because its robot was over its
    budget (``attempts``: the count once given back), under the key the next tick would give it."""
    on = delivery.alert_date
    key = alert_key(delivery.program_id, on, attempts + 1, given_back=delivery.attempted_at)
    payload = {"program_id": delivery.program_id, "date": on.isoformat()}
    jobs.defer(session, ALERT_JOB, key=key, payload=payload, delay=robot_budget.WINDOW)


def _claim(session: Session, program_id: int, on: date, at: datetime) -> tuple[AlertDelivery, bool]:
    """Take the next attempt of a program's alert for a date: its delivery row, inserted ``sending``
    (the first attempt) or moved from failed to ``sending`` with ``attempts + 1``, and True; the row as it
    is and False when it was sent or skipped, another run holds the attempt, or its run was killed during
    the send (then failed for good: :func:`give_up_lost`)."""
    values = {
        "program_id": program_id,
        "alert_date": on,
        "status": DeliveryStatus.SENDING,
        "attempts": 1,
        "attempted_at": at,
        "http_status": None,
        "detail": None,
    }
    inserted = insert_ignoring_duplicates(
        session, AlertDelivery, [values], index_elements=["program_id", "alert_date"], returning=["id"]
    )
    delivery = session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.program_id == program_id, AlertDelivery.alert_date == on)
        .execution_options(populate_existing=True)
    ).one()  # inserted now, or before
    if inserted:
        return delivery, True
    if give_up_lost(session, delivery, at) or not retryable(delivery):
        return delivery, False
    if not claim_attempt(session, delivery, AlertDelivery.attempts, _not_posted()):
        return session.get_one(AlertDelivery, delivery.id), False
    delivery.status, delivery.attempted_at = DeliveryStatus.SENDING, at
    delivery.http_status, delivery.detail = None, None
    return delivery, True
