"""Python warnings are log lines: structured and redacted like every other, never raw text on stderr."""

from __future__ import annotations

import json
import warnings

import pytest
import structlog
from structlog.testing import capture_logs

from neigou.kit import logging as kit_logging
from neigou.kit.logging import configure_logging

TOKEN = "ngt_Zx9-Yw8_Vu7Ts6Rq5"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


def _logged_warning(text: str, capfd: pytest.CaptureFixture[str]) -> dict[str, object]:
    with warnings.catch_warnings():  # puts back whatever showed warnings before
        warnings.simplefilter("always")
        configure_logging(json=True)
        capfd.readouterr()
        warnings.warn(text, UserWarning, stacklevel=1)
        err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events: list[dict[str, object]] = [line for line in lines if line.get("event") == "python.warning"]
    assert len(events) == 1, err
    assert TOKEN.removeprefix("ngt_") not in err
    return events[0]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("could not reach +86 138-1234-5678", "1234-5678"),
        ("calling 1381 2345 678 failed", "2345 678"),
        (f"retrying with token {TOKEN}", TOKEN.removeprefix("ngt_")),
        (f"GET /l/k7Qm2xPa?customer_ref={OPENID} was slow", OPENID),
    ],
)
def test_a_warning_is_a_structured_log_line_without_the_secret_it_quotes(
    text: str, secret: str, capfd: pytest.CaptureFixture[str]
) -> None:
    event = _logged_warning(text, capfd)
    assert event["level"] == "warning"
    assert event["category"] == "UserWarning"
    assert secret not in json.dumps(event, ensure_ascii=False)
    assert "[phone]" in str(event["warning"]) or "[redacted]" in str(event["warning"])
    assert str(event["location"]).rsplit(":", 1)[0].endswith("test_warning_logs.py")


def test_the_source_line_a_warning_points_at_is_not_logged(capfd: pytest.CaptureFixture[str]) -> None:
    event = _logged_warning("plain", capfd)
    assert event["warning"] == "plain"
    assert set(event) == {"event", "level", "timestamp", "category", "warning", "location"}


def test_a_warning_shown_to_a_file_of_its_callers_own_is_written_there() -> None:
    class Sink:
        text = ""

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

    sink = Sink()
    kit_logging.log_warning("to the file", UserWarning, "x.py", 3, sink)  # type: ignore[arg-type]
    assert "UserWarning: to the file" in sink.text


def test_a_logger_used_before_a_second_configuration_follows_it() -> None:
    """A module's logger is cached on first use; configuring again (another app in the process) and a
    test's log capture still reach it."""
    logger = structlog.get_logger("neigou.tests.cached")
    configure_logging(json=True)
    logger.info("first.use")  # cached here, with the first configuration's processors
    configure_logging(json=False)
    with capture_logs() as logs:
        logger.info("after.reconfiguring", value=1)
    assert [(e["event"], e["value"]) for e in logs] == [("after.reconfiguring", 1)]
