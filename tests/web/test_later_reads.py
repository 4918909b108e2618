"""What a streamed response reads after its request's session closed (``kit.deps.LaterReads``) reads in
the request's scope, with the app's settings, each read a session of its own given back at its end."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.deps import LaterReads
from neigou.kit.scoping import Scope, set_request_scope
from neigou.kit.settings import settings_of
from neigou.programs import repository as programs
from tests.conftest import TokenMaker
from tests.organizations.builders import tenant


def test_a_later_read_keeps_the_requests_scope_and_gives_its_session_back(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    state = SimpleNamespace()
    set_request_scope(state, Scope(organization_id=a.organization_id))
    settings = client.app.state.settings  # type: ignore[attr-defined]
    reads = LaterReads(factory, state, settings)
    with reads.session() as session:
        assert [p.id for p in programs.list_programs(session)] == [a.program_id]
        assert settings_of(session) is settings
        assert session.in_transaction()
    assert not session.in_transaction()  # given back: its connection is the pool's again
    set_request_scope(state, Scope(organization_id=b.organization_id))
    with reads.session() as session:
        assert [p.id for p in programs.list_programs(session)] == [b.program_id]
