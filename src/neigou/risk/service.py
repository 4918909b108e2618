"""Scans: run the rules over a program and open (or extend) cases; thresholds per program."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_rows
from neigou.kit.db import get_or_404, row_to_put
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.lock_wait import bounded_lock_wait
from neigou.kit.scoping import unscoped
from neigou.programs.models import Program
from neigou.risk import context, holds, rules
from neigou.risk import repository as repo
from neigou.risk.models import CaseOrder, CaseStatus, RiskCase, RiskSettings, Severity
from neigou.risk.scope import Scope
from neigou.risk.thresholds import NAMES, Thresholds, as_dict, merged

RANK = (Severity.LOW, Severity.MEDIUM, Severity.HIGH)


@dataclass(frozen=True)
class ScanResult:
    """How many cases a scan opened, and how many open ones took more orders."""

    opened: int
    extended: int
    findings: int


def thresholds_of(session: Session, program_id: int) -> Thresholds:
    """The program's thresholds: stored values over the defaults."""
    row = repo.stored_thresholds(session, program_id)
    return merged(row.thresholds if row else None)


def put_thresholds(
    session: Session, *, program: Program, values: dict[str, int], actor: Actor, at: datetime
) -> Thresholds:
    """Store the given thresholds (others keep their value); each must be a positive whole number."""
    unknown = sorted(set(values) - set(NAMES))
    if unknown:
        raise Invalid(
            Message("Unknown threshold; known are {known}.", known=", ".join(NAMES)), code="unknown_threshold"
        )
    for name, value in values.items():
        if value < 1:
            raise Invalid(
                Message("Threshold {name} must be at least 1.", name=name), code="invalid_threshold"
            )
    fresh = {"program_id": program.id, "thresholds": {}, "updated_at": at}
    row, created = row_to_put(session, RiskSettings, fresh, key=["program_id"])
    before = as_dict(merged(None if created else row.thresholds))
    row.thresholds = {**row.thresholds, **values}
    row.updated_at = at
    session.flush()
    after = merged(row.thresholds)
    audit.record(
        session,
        actor=actor,
        action="risk.thresholds",
        entity="program",
        entity_id=program.id,
        before=before,
        after=as_dict(after),
        at=at,
    )
    return after


def _explanation(message: Message) -> dict[str, Any]:
    return {"msgid": message.msgid, "values": dict(message.values)}


def scan(
    session: Session,
    *,
    program: Program,
    as_of: datetime,
    actor: Actor,
    now: datetime,
    names: Iterable[str] = rules.RULES,
    member_ids: Sequence[int] | None = None,
    coupon_id: int | None = None,
    since: datetime | None = None,
    bounded_wait: bool = False,
) -> ScanResult:
    """Run the named rules over the program up to ``as_of`` and open cases for what they find.

    Once something is found the program row is locked, so two scans of one program (nightly, on demand,
    at ingest and claim time) never open the same case twice: each reads the cases only once it holds the
    lock, after the other's commit. The lock is ``FOR NO KEY UPDATE``, which scans (and every ``FOR
    UPDATE`` of the program) wait for, but order intake's ``FOR KEY SHARE`` on the program does not: the
    cases are all a scan writes, and what a case holds is recomputed at its decision under the case's
    own lock (``risk.review``). Linking an order to a case key-shares that order's row until the scan
    commits; the order's own changes (refund, completion, settlement, a decision) lock it ``FOR NO KEY
    UPDATE``, which that does not block. ``bounded_wait``
    (a scan a request started) waits for the program's lock and for the cases' at most
    ``NEIGOU_LOCK_WAIT_MS`` (``kit.lock_wait``): past it 503 ``overloaded``, nothing written; so do the
    ingest and claim listeners inside a request (``jobs``); the nightly job and a listener in a job (a
    file import) wait for as long as it takes.

    An open case about the same subject takes the new orders; a resolved subject opens again only for
    orders no case of the rule has named yet. The program lock does not keep reviewers out: the cases to
    extend are locked before they take orders (``repository.lock_cases``), so a decision in progress
    commits first, and a case decided since it was read takes nothing (its new orders open a new case):
    a decided case's money moved already, and orders added to it later would be neither reversed nor held.
    """
    t = thresholds_of(session, program.id)
    wanted = [n for n in rules.RULES if n in set(names)]
    scope = Scope(
        program_id=program.id,
        since=since if since is not None else as_of - timedelta(days=t.lookback_days),
        as_of=as_of,
        member_ids=member_ids,
        coupon_id=coupon_id,
    )
    with unscoped(session):  # the program was read through the caller's scope; every query names it
        prepared = context.prepare(session, scope, t, wanted)
    findings = rules.run(prepared, t, wanted)
    if not findings:
        return ScanResult(opened=0, extended=0, findings=0)
    # The program's lock, then the cases to extend: a reviewer may have decided one since the scan
    # read it, or be deciding it now (a decision in progress commits first); orders go only into those
    # still open. A scan a request started waits for both a bounded time.
    with bounded_lock_wait(session) if bounded_wait else nullcontext():
        holds.lock_case_links(session, program.id)
        new, to_extend = _plan(session, program.id, wanted, findings, now)
        repo.lock_cases(session, [case.id for case, _, _ in to_extend])
    extended: list[tuple[RiskCase, list[int]]] = []
    for case, finding, fresh in to_extend:
        if case.status is not CaseStatus.OPEN:
            new.append((_new_case(program.id, finding, now), fresh))  # decided meanwhile: opens again
            continue
        case.evidence = finding.evidence
        case.severity = max(case.severity, Severity(finding.severity), key=RANK.index)
        case.explanation = _explanation(finding.explanation)
        extended.append((case, fresh))
    session.add_all([case for case, _ in new])
    session.flush()  # one batched INSERT … RETURNING for the new cases' ids
    _hold(session, new + extended)
    if new or extended:
        audit.record(
            session,
            actor=actor,
            action="risk.scan",
            entity="program",
            entity_id=program.id,
            after={
                "as_of": as_of.isoformat(),
                "opened": len(new),
                "extended": len(extended),
                "rules": wanted,
            },
            at=now,
        )
    return ScanResult(opened=len(new), extended=len(extended), findings=len(findings))


def _plan(
    session: Session, program_id: int, wanted: Sequence[str], findings: Sequence[rules.Finding], now: datetime
) -> tuple[list[tuple[RiskCase, list[int]]], list[tuple[RiskCase, rules.Finding, list[int]]]]:
    """The cases to open (with their orders) and the open cases to extend (with the finding and the
    orders no case of the rule names yet), as read under the program's lock."""
    new: list[tuple[RiskCase, list[int]]] = []
    to_extend: list[tuple[RiskCase, rules.Finding, list[int]]] = []
    for rule in wanted:
        mine = [f for f in findings if f.rule == rule]
        existing = repo.cases_with_subject(
            session, program_id=program_id, rule=rule, subjects=[f.subject for f in mine]
        )
        named = repo.orders_in_rule(
            session, program_id=program_id, rule=rule, order_ids=[i for f in mine for i in f.order_ids]
        )
        for finding in mine:
            same = [c for c in existing if c.subject == finding.subject]
            fresh = [i for i in finding.order_ids if i not in named]
            open_case = next((c for c in same if c.status is CaseStatus.OPEN), None)
            if open_case is not None:
                if fresh:
                    to_extend.append((open_case, finding, fresh))
                continue
            if same and not fresh:
                continue  # resolved before, and nothing new since
            new.append((_new_case(program_id, finding, now), fresh))
    return new, to_extend


def _new_case(program_id: int, finding: rules.Finding, now: datetime) -> RiskCase:
    return RiskCase(
        program_id=program_id,
        rule=finding.rule,
        subject=finding.subject,
        severity=Severity(finding.severity),
        member_id=finding.member_id,
        status=CaseStatus.OPEN,
        evidence=finding.evidence,
        explanation=_explanation(finding.explanation),
        held_fen=0,
        opened_at=now,
        reversed_fen=0,
        suspended=False,
    )


def _hold(session: Session, held: Sequence[tuple[RiskCase, Sequence[int]]]) -> None:
    """Link the cases to their orders in one insert and set what each holds from one aggregate."""
    rows = [{"case_id": case.id, "order_id": i} for case, ids in held for i in ids]
    insert_rows(session, CaseOrder, rows)
    totals = repo.remaining_commission_of(session, sorted({case.id for case, ids in held if ids}))
    for case, _ in held:
        case.held_fen = totals.get(case.id, case.held_fen)
    session.flush()


def require_case(session: Session, case_id: int, *, lock: bool = False) -> RiskCase:
    """The case, or 404 ``case_not_found``."""
    return get_or_404(
        session,
        RiskCase,
        case_id,
        code="case_not_found",
        detail=Message("This risk case does not exist."),
        lock=lock,
    )
