"""FastAPI dependencies shared by every domain's endpoints: the request's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import close_if_used, commit_if_used
from neigou.kit.i18n import LANG_COOKIE, reader_locale
from neigou.kit.scoping import link_request
from neigou.kit.settings import use_settings


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
