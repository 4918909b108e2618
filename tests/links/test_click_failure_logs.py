"""A failed write of a batch of clicks is logged without the batch: the database's error carries the
rows it was given (a shopper's ``customer_ref_hash`` among them) in its DETAIL and bound values."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from neigou.links.clicks import ClickRecorder, ClickRow
from tests.links.builders import click_event

REF_HASH = "9b1c6f0e2d7a4c3b8e5f1a0d6c2b7e4f9b1c6f0e2d7a4c3b8e5f1a0d6c2b7e4f"


class RefusingSink:
    """Refuses every batch as the database does, naming its rows."""

    def write(self, clicks: Sequence[ClickRow]) -> None:
        detail = f"DETAIL:  Failing row contains ({clicks[0][0]}, {REF_HASH})."
        raise IntegrityError(
            "INSERT INTO link_clicks (ref, customer_ref_hash) VALUES (%(ref)s, %(h)s)",
            [{"ref": c[0], "h": REF_HASH} for c in clicks],
            Exception(f'null value in column "link_id" violates not-null constraint\n{detail}'),
        )


def test_a_refused_batch_logs_the_error_not_its_rows(app: FastAPI, capfd: pytest.CaptureFixture[str]) -> None:
    del app  # built for its logging set-up
    recorder = ClickRecorder(RefusingSink(), max_batch=10)
    recorder.record(click_event(1, 1, 1))
    capfd.readouterr()
    with pytest.raises(IntegrityError):
        recorder.flush()
    err = capfd.readouterr().err
    assert "clicks.flush_failed" in err
    assert "sqlalchemy.exc.IntegrityError" in err
    assert "not-null constraint" in err
    assert REF_HASH not in err
    assert "Failing row" not in err
