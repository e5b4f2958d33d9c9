"""A fake Slack for tests and the demo: Web API server, Block Kit checks, signed requests, transcripts.

    with FakeSlack() as fake:                       # serves http://127.0.0.1:<free port>/api/
        fake.add_user("U1", "ana", locale="es-ES")
        client = WebClient(token=fake.bot_token, base_url=fake.api_url)
        requests = SlackRequests(bot_url, signing_secret, fake)   # signed requests to the bot
        requests.command("help", "U1")
        fake.wait_for(lambda: fake.dm_messages("U1"))
        assert fake.rejections() == []              # nothing Slack would have refused

Modules: ``server`` (FakeSlack), ``webapi``/``surfaces`` (Web API methods), ``blockkit``/``elements``
(Block Kit limits), ``faults`` (fault injection), ``client``/``interactions`` (what Slack sends to the
bot), ``transcript`` (plain-text rendering), ``inspection`` (accessors), ``httpd`` (HTTP plumbing).
"""

from .blockkit import message_warnings, validate_message, validate_view
from .client import NotSharedWithOtherOrgs, SlackRequests
from .faults import FaultRule
from .interactions import build_state_values, find_button
from .server import FakeSlack
from .state import Call
from .transcript import render_blocks_as_text, render_message, render_view, resolve_mentions

__all__ = [
    "Call",
    "FakeSlack",
    "FaultRule",
    "NotSharedWithOtherOrgs",
    "SlackRequests",
    "build_state_values",
    "find_button",
    "message_warnings",
    "render_blocks_as_text",
    "render_message",
    "render_view",
    "resolve_mentions",
    "validate_message",
    "validate_view",
]
