"""FastAPI dependencies shared by every domain's endpoints: the request's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import close_if_used, commit_if_used
from neigou.kit.i18n import LANG_COOKIE, reader_locale
from neigou.kit.scoping import link_request
from neigou.kit.settings import Settings, use_settings


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the transaction: commit when the endpoint returns, roll back on error. The
    session carries the app's settings (``kit.settings.settings_of``), as a job's carries its runner's."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    link_request(session, request.state)  # queries follow the caller's organization (programs.scope)
    use_settings(
        session, request.app.state.settings
    )  # kit.settings.settings_of: the app's, not the process's
    try:
        yield session
        commit_if_used(session)
    except BaseException:
        # Committed already when an after-commit action failed: that action's error stands.
        with suppress(InvalidRequestError):
            session.rollback()
        raise
    finally:
        close_if_used(session)


# scope="function": the commit happens before the response is sent, so a failed commit is
# never reported to the caller as a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _reader_locale(request: Request) -> str:
    return reader_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


# The reader's language for text in an answer (reasons, explanations): as errors choose it.
ReaderLocale = Annotated[str, Depends(_reader_locale)]


@dataclass(frozen=True)
class LaterReads:
    """Sessions for what a response reads after its request's own session is closed (a download
    streamed page by page): each a short session of its own, in the request's scope and with the app's
    settings like the request's, that writes nothing and is given back before the page it read is sent,
    so no connection waits on a slow reader (``ledger.payouts.csv_chunks``)."""

    factory: sessionmaker[Session]
    state: Any  # the request's state, which carries its scope (kit.scoping)
    settings: Settings

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One read's session, closed (its transaction rolled back) when the read ends."""
        session = self.factory()
        link_request(session, self.state)
        use_settings(session, self.settings)
        try:
            yield session
        finally:
            session.close()


def _later_reads(request: Request) -> LaterReads:
    return LaterReads(request.app.state.session_factory, request.state, request.app.state.settings)


LaterReadsDep = Annotated[LaterReads, Depends(_later_reads)]
