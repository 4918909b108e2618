"""Programs, tier ladders and members: the writes, each audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, is_valid_timezone, utcnow
from neigou.kit.db import get_or_404, insert_if_free
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message, Sentences
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.kit.lock_wait import bounded_lock_wait
from neigou.programs import repository as repo
from neigou.programs.models import (
    AttributionModel,
    Member,
    MemberInviterPeriod,
    MemberTierPeriod,
    Program,
    Tier,
)
from neigou.programs.rules import (
    KeepRule,
    LadderProblem,
    TierRule,
    UpgradeCondition,
    ladder_problems,
    levels_problem,
)
from neigou.programs.schemas import MemberCreate, ProgramCreate, ProgramUpdate, TierIn, UpgradeIn
from neigou.programs.scope import organization_for_write


def create_program(
    session: Session, *, data: ProgramCreate, default_timezone: str, actor: Actor, at: datetime | None = None
) -> Program:
    """Create a program; refuses more paid levels than the law allows."""
    problem = levels_problem(data.max_levels)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code)
    timezone = data.timezone or default_timezone
    if not is_valid_timezone(timezone):
        raise Invalid(
            Message("Unknown time zone; use an IANA name such as Asia/Shanghai."),
            code="invalid_timezone",
        )
    organization_id = organization_for_write(session, data.organization_id)
    if repo.get_program_by_code(session, organization_id, data.code) is not None:
        raise program_code_taken()
    program = Program(
        organization_id=organization_id,
        code=data.code,
        name=data.name,
        timezone=timezone,
        attribution_model=AttributionModel(data.attribution.model),
        attribution_window_days=data.attribution.window_days,
        freeze_days=data.freeze_days,
        max_levels=data.max_levels,
        self_purchase_commission=data.self_purchase_commission,
        created_at=at or utcnow(),
    )
    taken = program_code_taken()
    # A program of the same code may be created meanwhile: the key (organization, code) refuses it.
    return audit.insert_created(
        session, program, taken=taken, actor=actor, entity="program", after=data.model_dump(mode="json")
    )


def program_code_taken() -> Conflict:
    """The conflict of a second program with the same code, named by its field."""
    return Conflict(
        Message("{field} names a program that exists already.", field="code"),
        code="program_code_taken",
        extra={"field": "code"},
    )


def _profile(program: Program) -> dict[str, Any]:
    return {
        "name": program.name,
        "timezone": program.timezone,
        "attribution": {
            "model": program.attribution_model.value,
            "window_days": program.attribution_window_days,
        },
        "freeze_days": program.freeze_days,
        "max_levels": program.max_levels,
        "self_purchase_commission": program.self_purchase_commission,
    }


def update_program(session: Session, *, program: Program, data: ProgramUpdate, actor: Actor) -> Program:
    """Change a program's name, time zone and rules (fields not sent stay as they are); audited. The
    rules apply to orders ingested from now on: commission already earned is never recomputed.
    A new ``max_levels`` is checked against the stored ladder as saving that ladder would check it
    (the seller's share plus the overrides within the pool, no override on one level), under the
    program's lock that a ladder replacement takes too, so neither slips past the other."""
    if data.max_levels is not None:
        problem = levels_problem(data.max_levels)
        if problem is not None:
            raise Invalid(problem.message, code=problem.code)
        program = require_program(session, program.id, lock=True)
        if data.max_levels != program.max_levels:
            _check_ladder(session, program.id, max_levels=data.max_levels)
    if data.timezone is not None and not is_valid_timezone(data.timezone):
        raise Invalid(
            Message("Unknown time zone; use an IANA name such as Asia/Shanghai."),
            code="invalid_timezone",
        )
    before = _profile(program)
    if data.name is not None:
        program.name = data.name
    if data.timezone is not None:
        program.timezone = data.timezone
    if data.attribution is not None:
        program.attribution_model = AttributionModel(data.attribution.model)
        program.attribution_window_days = data.attribution.window_days
    if data.freeze_days is not None:
        program.freeze_days = data.freeze_days
    if data.max_levels is not None:
        program.max_levels = data.max_levels
    if data.self_purchase_commission is not None:
        program.self_purchase_commission = data.self_purchase_commission
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="program.update",
        entity="program",
        entity_id=program.id,
        before=before,
        after=_profile(program),
    )
    return program


def _check_ladder(session: Session, program_id: int, *, max_levels: int) -> None:
    """Refuse ``max_levels`` when the stored ladder's rates would not fit it (upgrade and keep rules do
    not depend on the depth, so only the rates are checked; a program without a ladder has none)."""
    stored = repo.list_tiers(session, program_id)
    if not stored:
        return
    rules = [
        TierRule(code=t.code, rank=t.rank, share_bp=t.share_bp, override_bp=t.override_bp) for t in stored
    ]
    _refuse_ladder(ladder_problems(rules, max_levels=max_levels))


def _refuse_ladder(problems: list[LadderProblem]) -> None:
    if problems:
        raise Invalid(
            Sentences([p.message for p in problems]),
            code=problems[0].code,
            extra={"problems": [{"code": p.code, "message": p.message, "tier": p.tier} for p in problems]},
        )


def require_program(session: Session, program_id: int, *, lock: bool = False) -> Program:
    """The program or a 404; ``lock`` holds its row until commit (``FOR UPDATE``). Order intake reads
    its programs ``FOR KEY SHARE`` (``orders.lookups.programs``) and keeps being granted them while this
    lock waits, so the wait is bounded (``kit.lock_wait``): past it 503 ``overloaded``, nothing written."""
    if not lock:
        return get_or_404(
            session,
            Program,
            program_id,
            code="program_not_found",
            detail=Message("This program does not exist."),
        )
    with bounded_lock_wait(session):
        return get_or_404(
            session,
            Program,
            program_id,
            code="program_not_found",
            detail=Message("This program does not exist."),
            lock=True,
        )


def require_member(session: Session, member_id: int) -> Member:
    """The member or a 404."""
    return get_or_404(
        session,
        Member,
        member_id,
        code="member_not_found",
        detail=Message("This member does not exist."),
    )


def _tier_dump(tier: Tier) -> dict[str, object]:
    return {
        "code": tier.code,
        "name": tier.name,
        "rank": tier.rank,
        "share_bp": tier.share_bp,
        "override_bp": tier.override_bp,
        "upgrade": tier.upgrade,
    }


def replace_tiers(session: Session, *, program_id: int, tiers: list[TierIn], actor: Actor) -> list[Tier]:
    """Replace a program's ladder after validating it whole; tiers members hold or held cannot vanish,
    and members without a tier (added before the program had a ladder) are put on its lowest tier.
    The program is read locked first: two replacements at once run one after the other, the second
    replacing the ladder the first wrote (never both inserting theirs over one delete)."""
    program = require_program(session, program_id, lock=True)
    rules = [
        TierRule(
            code=t.code,
            rank=t.rank,
            share_bp=t.share_bp,
            override_bp=t.override_bp,
            upgrade=tuple(
                UpgradeCondition(c.metric, c.gte, c.tier) for c in (t.upgrade.all if t.upgrade else [])
            ),
            keep=_keep_rule(t.upgrade),
        )
        for t in tiers
    ]
    _refuse_ladder(ladder_problems(rules, max_levels=program.max_levels))
    _refuse_removing_used(session, program_id, {t.code for t in tiers})
    before = [_tier_dump(t) for t in repo.list_tiers(session, program_id)]
    session.execute(delete(Tier).where(Tier.program_id == program_id))
    rows = [
        Tier(
            program_id=program_id,
            code=t.code,
            name=t.name,
            rank=t.rank,
            share_bp=t.share_bp,
            override_bp=t.override_bp,
            upgrade=t.upgrade.model_dump(exclude={"keep"} if t.upgrade.keep is None else None)
            if t.upgrade
            else None,
        )
        for t in tiers
    ]
    session.add_all(rows)
    session.flush()
    placed = repo.place_tierless(session, program_id, min(rows, key=lambda t: t.rank).code) if rows else 0
    audit.record(
        session,
        actor=actor,
        action="program.tiers.replace",
        entity="program",
        entity_id=program_id,
        before={"tiers": before},
        after={"tiers": [_tier_dump(t) for t in rows], "members_placed": placed},
    )
    return sorted(rows, key=lambda t: t.rank)


def _refuse_removing_used(session: Session, program_id: int, kept: set[str]) -> None:
    """A tier a member holds, or held once, stays in the ladder (its rate and name may change): a
    late-reported order paid while its seller held it is priced at its rates."""
    held = {code for code, n in repo.tier_counts(session, program_id).items() if code is not None and n > 0}
    if held - kept:
        raise Conflict(
            Message("Tiers {tiers} are still held by members.", tiers=sorted(held - kept)),
            code="tier_in_use",
        )
    history = repo.tiers_in_history(session, program_id) - kept
    if history:
        raise Conflict(
            Message(
                "Tiers {tiers} were held by members, and orders paid meanwhile are priced at their rates: "
                "change their rates or names instead of removing them.",
                tiers=sorted(history),
            ),
            code="tier_in_history",
        )


def _keep_rule(upgrade: UpgradeIn | None) -> KeepRule | None:
    if upgrade is None or upgrade.keep is None:
        return None
    return KeepRule(
        periods=upgrade.keep.periods,
        conditions=tuple(UpgradeCondition(c.metric, c.gte, c.tier) for c in upgrade.keep.all),
    )


def create_member(
    session: Session,
    *,
    program_id: int,
    data: MemberCreate,
    secret_key: str,
    actor: Actor,
    at: datetime | None = None,
) -> Member:
    """Add a member under an optional inviter of the same program, at the given or the lowest tier."""
    program = require_program(session, program_id)
    joined_at = ensure_aware(data.joined_at) if data.joined_at else (at or utcnow())
    ref_hash = customer_ref_hash(secret_key, data.customer_ref) if data.customer_ref else None
    if ref_hash is not None and repo.find_member_by_ref(session, program.id, ref_hash) is not None:
        raise _member_exists()
    if data.inviter_id is not None:
        inviter = repo.get_member(session, data.inviter_id)
        if inviter is None or inviter.program_id != program.id:
            raise Invalid(
                Message("The inviter (inviter_id) is not a member of this program."),
                code="inviter_not_in_program",
            )
        if ref_hash is not None and inviter.customer_ref_hash == ref_hash:
            raise Invalid(Message("A member cannot invite themselves."), code="self_invite")
    tier_code = _initial_tier(repo.ladder_for_member(session, program.id), data.tier)
    values = {
        "program_id": program.id,
        "name": data.name,
        "customer_ref_hash": ref_hash,
        "customer_ref_masked": customer_ref_mask(data.customer_ref) if data.customer_ref else None,
        "inviter_id": data.inviter_id,
        "tier_code": tier_code,
        "joined_at": joined_at,
    }
    member = insert_if_free(session, Member, values)
    if member is None:  # the same customer added meanwhile: the same 409
        raise _member_exists()
    session.add(
        MemberInviterPeriod(
            member_id=member.id, inviter_id=data.inviter_id, effective_from=joined_at, reason="joined"
        )
    )
    if tier_code is not None:
        session.add(
            MemberTierPeriod(
                member_id=member.id, tier_code=tier_code, effective_from=joined_at, reason="joined"
            )
        )
    audit.record(
        session,
        actor=actor,
        action="member.create",
        entity="member",
        entity_id=member.id,
        after={"program_id": program.id, "name": data.name, "inviter_id": data.inviter_id, "tier": tier_code},
    )
    return member


def _member_exists() -> Conflict:
    return Conflict(Message("This customer is a member of the program already."), code="member_exists")


def _initial_tier(tiers: list[Tier], wanted: str | None) -> str | None:
    if wanted is None:
        return tiers[0].code if tiers else None
    if wanted not in {t.code for t in tiers}:
        raise Invalid(Message("{field} is not in this program's ladder.", field="tier"), code="unknown_tier")
    return wanted


def tier_history(session: Session, member_id: int) -> list[MemberTierPeriod]:
    """A member's tier periods, oldest first."""
    return list(
        session.scalars(
            select(MemberTierPeriod)
            .where(MemberTierPeriod.member_id == member_id)
            .order_by(MemberTierPeriod.effective_from, MemberTierPeriod.id)
        )
    )
