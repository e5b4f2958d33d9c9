"""Least privilege, proven: ``manifest.json`` asks for every scope the bot's calls need, and no other.

Every test's fake Slack grants exactly the manifest's bot scopes (tests/conftest.py) and refuses a
call without its scope, as Slack does (``missing_scope``), and every test fails on such a refusal.
So the suite shows the manifest is enough. The tests below show that the fake does refuse, and they
read the bot's source: a Web API method it starts to call needs a row in
``bot/fakeslack/scopes.py`` and its scope in the manifest. A scope nothing needs fails too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.fakeslack import FakeSlack
from bot.fakeslack.scopes import (
    EVENT_SCOPES,
    FEATURE_SCOPES,
    IM,
    MANIFEST,
    METHOD_SCOPES,
    PRIVATE,
    PUBLIC,
    manifest_scopes,
    scope_needed,
)
from bot.fakeslack.webapi import WebApi

BOT = Path(__file__).resolve().parents[2] / "bot"
# Where the bot calls a conversation-typed method: DMs it opens (one user), and history/replies of DMs
# and client channels (public or private, often Slack Connect). It never opens or reads a group DM.
TYPES_USED = {"conversations.open": (IM,)}
TYPES_USED_OTHERWISE = (PUBLIC, PRIVATE, IM)
# slack_sdk helpers that call more than one method.
COMPOSITE = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
# Kept although no method page lists it as required: the sender reads its own posts back with
# include_all_metadata (conversations.history/replies) to find the outbox id it attached, so that a
# retried post is not posted twice; dropping it would risk doubles if Slack does require it.
KEPT = {"metadata.message:read"}
FAMILIES = (
    "chat",
    "views",
    "files",
    "users",
    "usergroups",
    "conversations",
    "auth",
    "reactions",
    "pins",
    "team",
    "bots",
    "apps",
    "dnd",
    "emoji",
    "bookmarks",
    "reminders",
    "search",
    "stars",
    "calls",
    "workflows",
    "admin",
    "oauth",
    "openid",
    "dialog",
    "assistant",
    "canvases",
    "functions",
)
CALL = re.compile(r"\.(" + "|".join(FAMILIES) + r")_([A-Za-z0-9_]+)\(")
API_CALL = re.compile(r"api_call\(\s*[\"']([\w.]+)[\"']")


def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def methods_the_bot_calls() -> dict[str, list[str]]:
    """Web API method -> where the bot's code calls it (the fake and the demo's stage left out)."""
    found: dict[str, list[str]] = {}
    for path in sorted(BOT.rglob("*.py")):
        if path.relative_to(BOT).parts[0] in ("fakeslack", "demo"):
            continue
        source = path.read_text(encoding="utf-8")
        names = [f"{family}_{rest}" for family, rest in CALL.findall(source)]
        methods = [m for name in names for m in COMPOSITE.get(name, (name.replace("_", "."),))]
        for method in [*methods, *API_CALL.findall(source)]:
            found.setdefault(method, []).append(str(path.relative_to(BOT.parent)))
    return found


def scopes_for(method: str) -> set[str]:
    needed = METHOD_SCOPES[method]
    if isinstance(needed, str):
        return {needed} - {""}
    return {scope_needed(method, t) for t in TYPES_USED.get(method, TYPES_USED_OTHERWISE)}


def test_the_scan_finds_the_calls_the_bot_makes():
    calls = methods_the_bot_calls()
    for method in (
        "chat.postMessage",
        "chat.update",
        "conversations.open",
        "users.info",
        "views.open",
        "files.completeUploadExternal",
        "conversations.history",
    ):
        assert method in calls, method


def test_every_method_the_bot_calls_has_a_scope_row_and_its_scope_in_the_manifest():
    granted = manifest_scopes()
    calls = methods_the_bot_calls()
    unlisted = {m: where for m, where in calls.items() if m not in METHOD_SCOPES}
    assert not unlisted, f"add these methods' scopes to bot/fakeslack/scopes.py: {unlisted}"
    missing = {m: sorted(scopes_for(m) - granted) for m in calls if scopes_for(m) - granted}
    assert not missing, f"manifest.json lacks scopes these calls need: {missing}"


def test_every_subscribed_event_and_feature_has_its_scope_in_the_manifest():
    m, granted = manifest(), manifest_scopes()
    events = m["settings"]["event_subscriptions"]["bot_events"]
    assert set(events) <= set(EVENT_SCOPES), "add the new events' scopes to bot/fakeslack/scopes.py"
    assert {EVENT_SCOPES[e] for e in events} - {""} <= granted
    for feature, scope in FEATURE_SCOPES.items():
        if m["features"].get(feature):
            assert scope in granted, feature


def test_the_manifest_asks_for_no_scope_that_nothing_needs():
    m = manifest()
    needed = set().union(*(scopes_for(method) for method in methods_the_bot_calls()))
    needed |= {EVENT_SCOPES[e] for e in m["settings"]["event_subscriptions"]["bot_events"]}
    needed |= {scope for feature, scope in FEATURE_SCOPES.items() if m["features"].get(feature)}
    unneeded = manifest_scopes() - needed - KEPT
    assert not unneeded, f"no call, event or feature needs {sorted(unneeded)}: drop them from manifest.json"
    assert not {"channels:read", "groups:read", "im:read"} & manifest_scopes()


def test_every_method_the_fake_serves_has_a_scope_row():
    assert set(WebApi.METHODS) <= set(METHOD_SCOPES)


@pytest.fixture
def narrow():
    """A fake Slack whose token was granted only ``commands`` and ``im:history``."""
    with FakeSlack(bot_token="xoxb-narrow", scopes={"commands", "im:history"}) as fake:
        fake.add_user("U0ANA", "ana")
        fake.add_channel("C0PUBLIC", "general", members=["U0ANA"])
        yield fake, WebClient(token="xoxb-narrow", base_url=fake.api_url, retry_handlers=[])


def refusal(call) -> dict:
    with pytest.raises(SlackApiError) as caught:
        call()
    return dict(caught.value.response.data)


def test_a_token_without_the_scope_is_refused_as_slack_does(narrow):
    fake, client = narrow
    body = refusal(lambda: client.chat_postMessage(channel="U0ANA", text="hello"))
    assert body == {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "commands,im:history"}
    assert fake.messages("C0PUBLIC") == [] and fake.dm_messages("U0ANA") == []  # nothing was posted
    assert refusal(lambda: client.users_info(user="U0ANA"))["needed"] == "users:read"
    assert refusal(lambda: client.conversations_open(users="U0ANA"))["needed"] == "im:write"
    assert refusal(lambda: client.conversations_open(users="U0ANA,U_NEXO"))["needed"] == "mpim:write"
    # history's scope follows the conversation: granted for a DM, refused for a public channel
    assert client.conversations_history(channel=fake.dm_channel("U0ANA"))["ok"]
    assert refusal(lambda: client.conversations_history(channel="C0PUBLIC"))["needed"] == "channels:history"
    assert client.views_publish(user_id="U0ANA", view={"type": "home", "blocks": []})["ok"]  # needs none
    assert fake.scope_refusals() == [
        "chat.postMessage: chat:write",
        "users.info: users:read",
        "conversations.open: im:write",
        "conversations.open: mpim:write",
        "conversations.history: channels:history",
    ]


def test_a_method_with_no_scope_row_is_refused(narrow):
    _, client = narrow
    body = refusal(lambda: client.api_call("reactions.add", json={"channel": "C0PUBLIC", "name": "eyes"}))
    assert body["error"] == "missing_scope" and "scopes.py" in body["needed"]


def test_the_manifest_lacking_a_scope_fails_the_bot_calls(tmp_path):
    """What the suite relies on: with one scope fewer, the bot's own calls are refused."""
    narrowed = {s for s in manifest_scopes() if s != "users:read"}
    with FakeSlack(bot_token="xoxb-1", scopes=narrowed) as fake:
        fake.add_user("U0ANA", "ana")
        client = WebClient(token="xoxb-1", base_url=fake.api_url, retry_handlers=[])
        assert refusal(lambda: client.users_info(user="U0ANA"))["needed"] == "users:read"
        assert client.chat_postMessage(channel="U0ANA", text="hello")["ok"]
