"""A send that remembers whether the answer has begun: a layer refusing a request mid-body (too large,
too slow) answers only when the application has not started its own answer."""

from __future__ import annotations

from starlette.types import Message, Send


class AnswerStarted:
    """Wraps ``send``; ``started`` once the application sent ``http.response.start``."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
