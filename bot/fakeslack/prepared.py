"""Requests built exactly as Slack sends them, to be signed and sent later: for load generators.

A benchmark that sends thousands of requests must not spend its time building them, and must not
build them its own way either. :class:`PreparedRequests` is a :class:`SlackRequests` whose sending
methods (``command``, ``click``, ``submit_view``, ``message`` ...) build the very body they would
post, with fresh trigger ids and response URLs from the fake, and hand it back as a
:class:`Prepared`; :meth:`PreparedRequests.headers` signs it at the moment it is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.fakeslack.client import SlackRequests

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass(frozen=True)
class Prepared:
    """One request: its body and content type; ``expect``: text a correct ack contains."""

    name: str
    body: bytes
    content_type: str
    expect: bytes | None = None


class PreparedRequests(SlackRequests):
    """``prepare("approve", slack.click, card, REF, action_id=ids.APPROVE)``: the body ``click`` would post."""

    def __init__(self, bot_base_url: str, signing_secret: str, fake: Any, **kwargs: Any) -> None:
        super().__init__(bot_base_url, signing_secret, fake, http=httpx.Client(), **kwargs)
        self._lock = threading.Lock()
        self._recorded: tuple[bytes, str] | None = None

    def post(self, body: str, content_type: str, **_: Any) -> httpx.Response:
        self._recorded = (body.encode(), content_type)
        return httpx.Response(599)  # not a 200: the fake applies nothing as if it had been acked

    def prepare(
        self, name: str, send: Callable[..., Any], *args: Any, expect: str | None = None, **kwargs: Any
    ) -> Prepared:
        with self._lock:
            self._recorded = None
            send(*args, **kwargs)
            if self._recorded is None:
                raise RuntimeError(f"{getattr(send, '__name__', send)} built no request")
            body, content_type = self._recorded
        return Prepared(name, body, content_type, expect.encode() if expect else None)

    def headers(self, prepared: Prepared) -> dict[str, str]:
        """Content type, user agent and Slack's signature headers, timestamped now."""
        return {"Content-Type": prepared.content_type, "User-Agent": USER_AGENT, **self.sign(prepared.body.decode())}
