"""A request's session carries its application's settings (``kit.deps.get_session``), as a job's
carries its runner's: ``kit.settings.settings_of`` gives the app's, never the process's own."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.deps import SessionDep
from neigou.kit.settings import Settings, get_settings, settings_of
from neigou.web.app import create_app


def test_a_request_session_has_the_apps_settings(settings: Settings, factory: sessionmaker[Session]) -> None:
    own = settings.model_copy(update={"default_timezone": "Asia/Tokyo", "max_in_flight": 7})
    assert get_settings().default_timezone != own.default_timezone
    app = create_app(own, session_factory=factory, start_jobs=False)
    seen: list[Settings] = []

    def route(session: SessionDep) -> dict[str, str]:
        event.listen(session, "after_commit", lambda _: seen.append(own))  # a commit would show here
        found = settings_of(session)
        seen.append(found)
        return {"timezone": found.default_timezone}

    app.add_api_route("/settings-of", route)
    with TestClient(app) as client:
        response = client.get("/settings-of")
    assert response.status_code == 200
    assert response.json() == {"timezone": "Asia/Tokyo"}
    assert len(seen) == 1  # a request that touched nothing is still not committed (kit.db.commit_if_used)
    assert seen[0] is app.state.settings
