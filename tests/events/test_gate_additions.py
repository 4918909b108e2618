"""New employees and invitation codes reach the gate's seeded state, also when Redis fails after the
commit or the state is being seeded when they commit.

Each addition is noted in Redis before it commits; after the commit the gate adds it to the seeded
state while its note stands (whatever generation it was noted in: an addition only adds), or keeps it
for the next seeding to merge while the state is unseeded. A note the call after the commit never cleared is swept by the next settlement, which marks
the state stale: the next reservation seeds it again from the database, which holds the additions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import gate as gate_module
from neigou.events import seeds, service
from neigou.events.gate import ReservationGate
from neigou.events.gate_keys import employees_key
from neigou.events.gate_values import Seed
from neigou.kit.clock import utcnow
from tests.conftest import TEST_ACTOR
from tests.events.builders import add_employees, gate_of, invite, one_employee_event, reserve

E2 = [{"employee_no": "E2", "name": "员工二"}]


def _as_guest(api: TestClient, operator: dict[str, str], event_id: int, customer: str, code: str) -> Any:
    return reserve(api, operator, event_id, customer, employee_no=None, invitation_code=code)


@pytest.mark.parametrize("addition", ["employees", "invitations"])
def test_an_addition_redis_failed_after_the_commit_reaches_the_gate_after_the_next_settlement(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch, addition: str
) -> None:
    api = TestClient(redis_app)  # no lifespan: the settlement job stores the stream
    event_id = one_employee_event(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201  # the state is seeded

    def broken(self: ReservationGate, note: str, values: Any) -> bool:
        raise redis.ConnectionError("Connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(ReservationGate, "add_employees", broken)
        patched.setattr(ReservationGate, "add_invitations", broken)
        if addition == "employees":
            assert add_employees(api, operator, event_id, E2) == 1
        else:
            (code,) = invite(api, operator, event_id, "E1", 1)

    def attempt() -> Any:
        if addition == "employees":
            return reserve(api, operator, event_id, "c2", employee_no="E2")
        return _as_guest(api, operator, event_id, "c2", code)

    assert attempt().json()["code"] == "not_invited"  # until the next settlement finds the note
    monkeypatch.setattr(gate_module, "STALE_NOTE_SECONDS", 0, raising=False)
    later = utcnow() + timedelta(seconds=1)
    assert redis_app.state.jobs.run("events.settle_holds", key="settle-1", payload={}, at=later)
    _, gate, base = gate_of(redis_app, event_id)
    assert not gate.seeded(base)
    reserved = attempt()
    assert reserved.status_code == 201, reserved.text
    assert gate.client.hlen(gate.notes) == 0


def test_additions_while_the_state_is_seeded_reach_it(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    seed_state = seeds.seed_state
    added: list[str] = []

    def added_after_the_read(session: Any, event: int) -> Seed:
        # The seeding read the database; the additions commit before it writes the state.
        seed = seed_state(session, event)
        if not added:
            assert add_employees(api, operator, event_id, E2) == 1
            added.extend(invite(api, operator, event_id, "E1", 1))
        return seed

    monkeypatch.setattr(seeds, "seed_state", added_after_the_read)
    assert reserve(api, operator, event_id, "c1").status_code == 201  # seeds the state
    _, gate, base = gate_of(redis_app, event_id)
    assert gate.seeded(base)
    assert gate.client.hexists(employees_key(base), "E2")
    assert gate.client.hget(f"{base}:inv", added[0]) == b""
    assert reserve(api, operator, event_id, "c2", employee_no="E2").status_code == 201
    assert _as_guest(api, operator, event_id, "c3", added[0]).status_code == 201
    assert gate.client.hlen(gate.notes) == 0


def test_additions_to_a_seeded_state_are_there_at_once(redis_app: FastAPI, operator: dict[str, str]) -> None:
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    _, gate, base = gate_of(redis_app, event_id)
    generation = gate.client.get(f"{base}:gen")
    assert add_employees(api, operator, event_id, E2) == 1
    (code,) = invite(api, operator, event_id, "E1", 1)
    assert gate.client.get(f"{base}:gen") == generation  # not marked stale
    assert gate.seeded(base)
    assert reserve(api, operator, event_id, "c2", employee_no="E2").status_code == 201
    assert _as_guest(api, operator, event_id, "c3", code).status_code == 201
    assert gate.client.hlen(gate.notes) == 0


def test_keyed_invitations_reach_the_gate_only_once_the_request_commits(
    redis_app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Issued under a request id, the codes are written in a savepoint: its release is no commit. The
    gate learns the codes after the request's own commit, and never when the request rolls back (its
    note is left for the sweep)."""
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201  # seeded
    _, gate, base = gate_of(redis_app, event_id)
    for outcome in ("rollback", "commit"):
        with factory() as session:
            (code,) = service.issue_invitations(
                session,
                event_id=event_id,
                employee_no="E1",
                count=1,
                actor=TEST_ACTOR,
                at=utcnow(),
                gate=gate,
                request_id=f"k-{outcome}",
            )
            assert not gate.client.hexists(f"{base}:inv", code)  # not before the database committed
            session.commit() if outcome == "commit" else session.rollback()
        assert gate.client.hexists(f"{base}:inv", code) == (outcome == "commit")


def test_a_paste_in_chunks_does_not_starve_the_seeding(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A console paste lands a chunk of employees and invitations during every try of a seeding, after
    the seeding read the database: the chunks wait for the state the seeding writes (the state is not
    marked stale for them), so the first try succeeds and holds every chunk."""
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    runtime.flush()
    gate.forget(base)
    seed_state = seeds.seed_state
    chunks: list[str] = []
    codes: list[str] = []

    def a_chunk_after_every_read(session: Any, event: int) -> Seed:
        seed = seed_state(session, event)
        number = f"P{len(chunks)}"
        assert add_employees(api, operator, event_id, [{"employee_no": number, "name": "员工"}]) == 1
        chunks.append(number)
        if len(codes) < 2:  # E1 may invite two guests
            codes.extend(invite(api, operator, event_id, "E1", 1))
        return seed

    monkeypatch.setattr(seeds, "seed_state", a_chunk_after_every_read)
    assert reserve(api, operator, event_id, "c2").status_code == 201
    monkeypatch.undo()
    assert chunks == ["P0"]  # seeded at the first try
    assert gate.client.hexists(employees_key(base), "P0")
    assert gate.client.hget(f"{base}:inv", codes[0]) == b""
    assert not gate.client.exists(f"{base}:add-emp", f"{base}:add-inv")
    assert reserve(api, operator, event_id, "c3", employee_no="P0").status_code == 201
    assert _as_guest(api, operator, event_id, "c4", codes[0]).status_code == 201
    assert gate.client.hlen(gate.notes) == 0


def test_an_addition_to_an_unseeded_state_reaches_the_next_seeding(
    redis_app: FastAPI, operator: dict[str, str]
) -> None:
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    runtime.flush()
    gate.forget(base)
    generation = gate.client.get(f"{base}:gen")
    assert add_employees(api, operator, event_id, E2) == 1
    assert gate.client.get(f"{base}:gen") == generation  # no seeding under way fails for it
    assert reserve(api, operator, event_id, "c2", employee_no="E2").status_code == 201
    assert gate.client.hlen(gate.notes) == 0


@pytest.mark.parametrize("read", ["after_the_commit", "before_the_commit"])
def test_a_chunk_that_reaches_the_gate_after_a_seeding_leaves_that_state_seeded(
    redis_app: FastAPI, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """A chunk of a paste is noted while the state is unseeded, a seeding completes, and the chunk's call
    after its commit comes after that: it used to mark the new state stale (noted in another
    generation), whether the seeding had read the chunk or not, so a paste in chunks kept undoing the
    seedings until it stopped. The chunk is added instead: the state holds it either way."""
    api = TestClient(redis_app)
    event_id = one_employee_event(api, operator)
    assert reserve(api, operator, event_id, "c1").status_code == 201
    runtime, gate, base = gate_of(redis_app, event_id)
    runtime.flush()
    gate.forget(base)
    late: list[tuple[str, list[str]]] = []
    add = ReservationGate.add_employees

    def delayed(self: ReservationGate, note: str, employee_nos: Any) -> bool:
        late.append((note, list(employee_nos)))
        return True

    def paste() -> None:
        assert add_employees(api, operator, event_id, [{"employee_no": "P1", "name": "员工"}]) == 1

    seed_state = seeds.seed_state

    def pasted_after_the_read(session: Any, event: int) -> Seed:
        seed = seed_state(session, event)
        paste()
        return seed

    monkeypatch.setattr(ReservationGate, "add_employees", delayed)
    if read == "after_the_commit":
        paste()
    else:
        monkeypatch.setattr(seeds, "seed_state", pasted_after_the_read)
    assert reserve(api, operator, event_id, "c2").status_code == 201  # seeds the state
    monkeypatch.undo()
    assert gate.seeded(base)
    assert gate.client.hexists(employees_key(base), "P1") == (read == "after_the_commit")
    generation = gate.client.get(f"{base}:gen")
    ((note, numbers),) = late
    assert add(gate, note, numbers)
    assert gate.seeded(base)
    assert gate.client.get(f"{base}:gen") == generation
    assert reserve(api, operator, event_id, "c3", employee_no="P1").status_code == 201
    assert gate.client.hlen(gate.notes) == 0
