"""Edits of one campaign at once (both databases; the burst on parallel PostgreSQL connections): the edit
reads the campaign locked before it reads and replaces its skus, so the second edit waits for the first
one's commit and replaces the list the first one left. The campaign then holds exactly one request's
skus, never their union, and each edit's audit entry says from which list it went to which."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.campaigns import endpoints, repository
from neigou.campaigns.models import CampaignItem
from neigou.campaigns.schemas import CampaignUpdate
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.campaigns.builders import create_campaign
from tests.conftest import BACKEND, TEST_ACTOR
from tests.factories import create_program
from tests.lock_waits import lock_waits, paused, two_sides
from tests.offers import factories as offers
from tests.parallel import race

LISTS = (["R6C-1", "R6C-2"], ["R6C-3", "R6C-4"], ["R6C-2", "R6C-5"])
PRINCIPAL: Any = SimpleNamespace(actor=TEST_ACTOR)
THREADS = 8 if BACKEND == "postgresql" else 1


def _upcoming(client: TestClient, operator: dict[str, str]) -> int:
    """A campaign starting tomorrow with R6C-0 (products R6C-0 to R6C-5)."""
    program = create_program(client, operator)
    for n in range(6):
        offers.product(client, operator, f"R6C-{n}", 1000)
    starts = utcnow().replace(microsecond=0) + timedelta(days=1)
    body = {
        "program_id": program["id"],
        "name": "周末洗护节",
        "skus": ["R6C-0"],
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=2)).isoformat(),
    }
    return int(create_campaign(client, operator, body)["id"])


def _edit(campaign_id: int, skus: list[str]) -> Any:
    """PATCH /campaigns/{id} {skus} as its endpoint runs it, on the caller's session."""

    def work(session: Session) -> list[str]:
        body = CampaignUpdate(skus=skus)
        return list(endpoints.update_campaign(campaign_id, body, session, PRINCIPAL).skus)

    return work


def _stored(factory: sessionmaker[Session], campaign_id: int) -> list[tuple[int, str]]:
    with factory() as session:
        rows = session.execute(
            select(CampaignItem.position, CampaignItem.sku)
            .where(CampaignItem.campaign_id == campaign_id)
            .order_by(CampaignItem.position, CampaignItem.id)
        )
        return [(int(p), str(s)) for p, s in rows]


def _audited(factory: sessionmaker[Session]) -> list[tuple[list[str], list[str]]]:
    """Each edit's (skus before, skus after), in the order they committed."""
    with factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "campaign.update").order_by(AuditEntry.id)
        ).all()
        return [((e.before or {})["skus"], (e.after or {})["skus"]) for e in entries]


def test_the_second_edit_replaces_the_first_ones_skus(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    campaign_id = _upcoming(client, operator)
    waits = lock_waits(factory, 2)
    # The first edit holds once it removed the old items, before it adds its own.
    monkeypatch.setattr(repository, "delete_items", paused(repository.delete_items, waits))
    first, second = two_sides(factory, _edit(campaign_id, LISTS[0]), _edit(campaign_id, LISTS[1]), waits)
    assert (first, second) == (LISTS[0], LISTS[1])
    assert _stored(factory, campaign_id) == [(0, "R6C-3"), (1, "R6C-4")]
    assert _audited(factory) == [(["R6C-0"], LISTS[0]), (LISTS[0], LISTS[1])]
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=operator).json()["skus"] == LISTS[1]


def test_a_burst_of_edits_leaves_the_last_ones_list(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    campaign_id = _upcoming(client, operator)

    def attempt(i: int) -> str:
        with transaction(factory) as session:
            return ",".join(_edit(campaign_id, LISTS[i % 3])(session))

    outcomes = race(factory, attempt, 30, THREADS)
    assert outcomes == {",".join(skus): 10 for skus in LISTS}
    audited = _audited(factory)
    assert len(audited) == 30
    # One after the other: each edit started from the list the one before it left.
    assert [before for before, _ in audited] == [["R6C-0"]] + [after for _, after in audited[:-1]]
    last = audited[-1][1]
    assert _stored(factory, campaign_id) == list(enumerate(last))
    assert client.get(f"/api/v1/campaigns/{campaign_id}", headers=operator).json()["skus"] == last
