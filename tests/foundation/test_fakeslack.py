"""The fake Slack itself, exercised through the real slack_sdk WebClient and a real Bolt app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.fakeslack import (
    FakeSlack,
    SlackRequests,
    render_blocks_as_text,
    render_message,
    validate_message,
    validate_view,
)

TOKEN = "xoxb-test"
SECRET = "shhh-signing-secret"


def section(text: str, block_id: str | None = None) -> dict:
    block: dict = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def button(label: str, action_id: str, value: str = "v") -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id, "value": value}


def modal(title: str = "Review", blocks: list | None = None, **extra: object) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks or [section("hi")],
        **extra,
    }


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U_ANA", "ana", tz="Europe/Madrid", locale="es-ES", email="ana@agency.test")
        server.add_user("U_CLIENT", "carla", team_id="T_CLIENT")
        server.add_channel("C_GENERAL", "general", members=["U_ANA", "U_CLIENT"], is_ext_shared=True)
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url, timeout=5)


# ----- messages --------------------------------------------------------------


def test_post_message_to_a_user_lands_in_their_dm_with_a_ts(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="U_ANA", text="Hello")
    second = client.chat_postMessage(channel="U_ANA", text="Again")

    assert first["channel"] == fake.dm_channel("U_ANA") == client.conversations_open(users="U_ANA")["channel"]["id"]
    assert first["channel"].startswith("D")
    assert float(second["ts"]) > float(first["ts"])
    assert [m["text"] for m in fake.dm_messages("U_ANA")] == ["Hello", "Again"]
    assert first["message"]["ts"] == first["ts"] and first["message"]["bot_id"] == fake.bot_id


def test_update_changes_the_message_and_keeps_its_history(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C_GENERAL", text="Draft v1", blocks=[section("v1")])
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Draft v2", blocks=[section("v2")])

    (msg,) = fake.messages("C_GENERAL")
    assert msg["text"] == "Draft v2" and msg["blocks"][0]["text"]["text"] == "v2"
    assert [e["text"] for e in msg["edits"]] == ["Draft v1"]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C_GENERAL", ts="1.000001", text="nope")
    assert err.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError):  # chat.update needs the channel id, not a user id
        client.chat_update(channel="U_ANA", ts=posted["ts"], text="nope")


def test_long_text_is_truncated_and_blocks_without_text_warn(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C_GENERAL", text="x" * 40_500)
    client.api_call("chat.postMessage", json={"channel": "C_GENERAL", "blocks": [section("no fallback")]})

    assert len(fake.messages("C_GENERAL")[0]["text"]) == 40_000
    assert any("fallback" in w["warning"] for w in fake.warnings())
    assert fake.rejections() == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section(f"b{i}") for i in range(51)], "51 blocks > 50"),
        ([section("x" * 3001)], "blocks[0].text: 3001 chars > 3000"),
        ([section("a", "same"), section("b", "same")], "duplicates"),
        ([{"type": "actions", "elements": [button("x" * 76, "go")]}], "elements[0].text: 76 chars > 75"),
        ([{"type": "actions", "elements": [button("A", "go"), button("B", "go")]}], "action_id"),
        ([{"type": "section", "text": {"type": "mrkdwn", "txt": "typo"}}], "unknown field"),
    ],
)
def test_invalid_blocks_are_rejected_and_recorded(
    fake: FakeSlack, client: WebClient, blocks: list, expected: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C_GENERAL", text="fallback", blocks=blocks)

    assert err.value.response["error"] == "invalid_blocks"
    assert any(expected in e for e in err.value.response["errors"]), err.value.response["errors"]
    assert fake.messages() == [] and fake.rejections()[0]["method"] == "chat.postMessage"


def test_view_limits() -> None:
    assert any("25 chars > 24" in e for e in validate_view(modal("x" * 25)))
    needs_submit = modal(
        blocks=[
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Why"},
                "element": {"type": "plain_text_input", "action_id": "why"},
            }
        ]
    )
    assert any("submit" in e for e in validate_view(needs_submit))
    assert validate_view({**needs_submit, "submit": {"type": "plain_text", "text": "Send"}}) == []
    assert any("101 blocks > 100" in e for e in validate_view(modal(blocks=[section("b")] * 101)))
    assert any("private_metadata" in e for e in validate_view(modal(private_metadata="m" * 3001)))
    assert validate_message("ok", [section("a" * 3000), {"type": "divider"}]) == []


# ----- views, triggers, response URLs ---------------------------------------------


def test_trigger_ids_are_single_use_and_expire(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="made.up", view=modal("x" * 25))
    assert err.value.response["error"] == "invalid_trigger_id"

    trigger = fake.issue_trigger_id("U_ANA")
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger, view=modal("x" * 25))
    assert err.value.response["error"] == "invalid_blocks"  # a rejected view does not use the trigger
    opened = client.views_open(trigger_id=trigger, view=modal())
    assert opened["view"]["id"].startswith("V") and opened["view"]["hash"]
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger, view=modal())
    assert err.value.response["error"] == "expired_trigger_id"

    assert [v["id"] for v in fake.views_opened("U_ANA")] == [opened["view"]["id"]]

    with FakeSlack(trigger_ttl=0.2) as quick:  # Slack's is 3 s
        late = quick.issue_trigger_id()
        time.sleep(0.25)
        with pytest.raises(SlackApiError) as err:
            WebClient(token=TOKEN, base_url=quick.api_url).views_open(trigger_id=late, view=modal())
    assert err.value.response["error"] == "expired_trigger_id"


def test_views_update_and_home_tab(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.issue_trigger_id("U_ANA"), view=modal(external_id="ext-1"))["view"]
    client.views_update(external_id="ext-1", view=modal("Updated"))
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    assert err.value.response["error"] == "hash_conflict"
    assert fake.last_view("U_ANA")["title"]["text"] == "Updated"

    client.views_publish(user_id="U_ANA", view={"type": "home", "blocks": [section("Home 1")]})
    client.views_publish(user_id="U_ANA", view={"type": "home", "blocks": [section("Home 2")]})
    homes = fake.home_views("U_ANA")
    assert [h["blocks"][0]["text"]["text"] for h in homes] == ["Home 1", "Home 2"]
    assert homes[0]["id"] == homes[1]["id"]


def test_response_url_allows_five_posts(fake: FakeSlack) -> None:
    url = fake.new_response_url(channel="C_GENERAL", user="U_ANA")
    webhook = WebhookClient(url)
    statuses = [webhook.send(text=f"reply {i}").status_code for i in range(6)]

    assert statuses == [200] * 5 + [404]
    assert httpx.post(url, json={"text": "again"}).json()["error"] == "used_url"
    assert len(fake.responses(url)) == 5
    assert [e["text"] for e in fake.ephemerals("U_ANA")] == [f"reply {i}" for i in range(5)]


def test_response_url_expires() -> None:
    with FakeSlack(response_url_ttl=0.1) as fake:
        url = fake.new_response_url(channel="C1", user="U1")
        time.sleep(0.15)
        answer = httpx.post(url, json={"text": "late"})
    assert answer.status_code == 404 and answer.json()["error"] == "expired_url"


# ----- faults ----------------------------------------------------------------------


def test_rate_limit_reaches_the_client_and_the_retry_handler_recovers(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", status=429, retry_after=7, times=1)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C_GENERAL", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"

    fake.fail("chat.postMessage", status=429, retry_after=0, times=1)
    retrying = WebClient(token=TOKEN, base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler(1)])
    assert retrying.chat_postMessage(channel="C_GENERAL", text="hi")["ok"]
    assert [c.status for c in fake.calls("chat.postMessage")] == [429, 429, 200]
    assert len(fake.messages("C_GENERAL")) == 1  # faulted requests change nothing


def test_token_bucket_rate_limit(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit("chat.postMessage", per_second=1, burst=2)
    client.chat_postMessage(channel="C_GENERAL", text="1")
    client.chat_postMessage(channel="C_GENERAL", text="2")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C_GENERAL", text="3")
    assert err.value.response.status_code == 429 and int(err.value.response.headers["Retry-After"]) >= 1


def test_server_error_then_recovery(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", status=500, times=1)
    fake.fail("users.info", error="user_not_found", times=1)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C_GENERAL", text="hi")
    assert err.value.response.status_code == 500
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U_ANA")
    assert err.value.response["error"] == "user_not_found"

    assert client.chat_postMessage(channel="C_GENERAL", text="hi")["ok"]
    assert client.users_info(user="U_ANA")["user"]["tz"] == "Europe/Madrid"


def test_latency_makes_the_client_time_out(fake: FakeSlack) -> None:
    impatient = WebClient(token=TOKEN, base_url=fake.api_url, timeout=0.2)
    fake.fail("chat.postMessage", status=503, latency=0.6, times=1)
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C_GENERAL", text="lost")
    assert fake.messages() == []

    fake.fail("chat.postMessage", latency=0.6, times=1)  # slow but done: the classic duplicate risk
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C_GENERAL", text="done anyway")
    fake.wait_for(lambda: fake.messages("C_GENERAL"))
    assert impatient.chat_postMessage(channel="C_GENERAL", text="fast")["ok"]


def test_auth_and_unknown_methods(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    client = WebClient(token=TOKEN, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.teleport")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="U_NOBODY", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    assert client.auth_test()["user_id"] == "U_NEXO"


# ----- files, history, directory -------------------------------------------------------


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    data = bytes(range(256)) * 4
    result = client.files_upload_v2(
        channel="C_GENERAL", content=data, filename="report.pdf", title="Report", initial_comment="Monthly report"
    )

    (stored,) = fake.uploaded_files()
    assert result["file"]["id"] == stored["id"] and stored["content"] == data
    assert stored["title"] == "Report" and stored["channels"] == ["C_GENERAL"]
    assert fake.messages("C_GENERAL")[0]["text"] == "Monthly report"


def test_history_returns_metadata_newest_first(fake: FakeSlack, client: WebClient) -> None:
    meta = {"event_type": "approval_requested", "event_payload": {"draft_id": 42}}
    first = client.chat_postMessage(channel="C_GENERAL", text="one", metadata=meta)
    client.chat_postMessage(channel="C_GENERAL", text="reply", thread_ts=first["ts"])
    client.chat_postMessage(channel="C_GENERAL", text="two")

    history = client.conversations_history(channel="C_GENERAL", include_all_metadata=True)["messages"]
    assert [m["text"] for m in history] == ["two", "one"]
    assert history[1]["metadata"] == meta and history[1]["reply_count"] == 1
    plain = client.conversations_history(channel="C_GENERAL")["messages"]
    assert "metadata" not in plain[1]
    replies = client.conversations_replies(channel="C_GENERAL", ts=first["ts"])["messages"]
    assert [m["text"] for m in replies] == ["one", "reply"]
    link = client.chat_getPermalink(channel="C_GENERAL", message_ts=first["ts"])["permalink"]
    assert link.endswith(f"/archives/C_GENERAL/p{first['ts'].replace('.', '')}")


def test_directory(fake: FakeSlack, client: WebClient) -> None:
    fake.add_usergroup("S_AGENCY", ["U_ANA"])
    user = client.users_info(user="U_CLIENT")["user"]
    assert user["team_id"] == "T_CLIENT" and "locale" not in user
    assert client.users_info(user="U_ANA", include_locale=True)["user"]["locale"] == "es-ES"
    assert client.users_lookupByEmail(email="ana@agency.test")["user"]["id"] == "U_ANA"
    info = client.conversations_info(channel="C_GENERAL")["channel"]
    assert info["is_ext_shared"] and "T_CLIENT" in info["shared_team_ids"]
    assert set(client.conversations_members(channel="C_GENERAL")["members"]) == {"U_ANA", "U_CLIENT", "U_NEXO"}
    assert client.usergroups_users_list(usergroup="S_AGENCY")["users"] == ["U_ANA"]
    with pytest.raises(SlackApiError):
        client.chat_postEphemeral(channel="C_GENERAL", user="U_NOBODY", text="hi")


def test_wait_for_and_transcript(fake: FakeSlack, client: WebClient) -> None:
    threading.Timer(0.05, lambda: client.chat_postMessage(channel="U_ANA", text="later")).start()
    assert fake.wait_for(lambda: fake.dm_messages("U_ANA"))[0]["text"] == "later"
    with pytest.raises(AssertionError, match="later"):
        fake.wait_for(lambda f: f.ephemerals("U_ANA"), timeout=0.1)

    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Draft"}},
        section("Hi <@U_ANA>, please review"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "due today"}]},
        {"type": "actions", "elements": [button("Approve", "approve"), button("Reject", "reject")]},
    ]
    assert render_blocks_as_text(blocks, {"U_ANA": "Ana"}) == [
        "DRAFT",
        "=====",
        "Hi @Ana, please review",
        "[due today]",
        "[ Approve ]  [ Reject ]",
    ]
    assert render_message({"text": "<@U_ANA> hi"}, {"U_ANA": "Ana"}) == "@Ana hi"


# ----- signed requests to a real Bolt app ------------------------------------------------


def test_signed_requests_verify() -> None:
    with FakeSlack() as fake:
        requests = SlackRequests("http://127.0.0.1:9", SECRET, fake)
        body = "token=x&text=hello"
        headers = requests.sign(body)
        verifier = SignatureVerifier(SECRET)
        assert verifier.is_valid_request(body, headers)
        assert not verifier.is_valid_request(body + "&tampered=1", headers)
        assert not verifier.is_valid_request(body, requests.sign(body, bad_signature=True))
        assert not verifier.is_valid_request(body, requests.sign(body, timestamp=int(time.time()) - 600))
        requests.close()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def bolt(fake: FakeSlack) -> Iterator[SlackRequests]:
    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=fake.api_url))

    @app.command("/nexo")
    def open_form(ack, body, client):
        ack()
        client.views_open(
            trigger_id=body["trigger_id"],
            view=modal(
                "Brief",
                callback_id="brief",
                submit={"type": "plain_text", "text": "Send"},
                blocks=[
                    {
                        "type": "input",
                        "block_id": "topic",
                        "label": {"type": "plain_text", "text": "Topic"},
                        "element": {"type": "plain_text_input", "action_id": "value"},
                    },
                    {
                        "type": "input",
                        "block_id": "channel",
                        "label": {"type": "plain_text", "text": "Network"},
                        "element": {
                            "type": "static_select",
                            "action_id": "pick",
                            "options": [{"text": {"type": "plain_text", "text": "Instagram"}, "value": "ig"}],
                        },
                    },
                ],
            ),
        )

    @app.view("brief")
    def take_brief(ack, view, body, client):
        topic = view["state"]["values"]["topic"]["value"]["value"]
        if not topic:
            ack(response_action="errors", errors={"topic": "Required"})
            return
        ack()
        network = view["state"]["values"]["channel"]["pick"]["selected_option"]["value"]
        client.chat_postMessage(
            channel=body["user"]["id"],
            text=f"{topic} on {network}",
            blocks=[
                section(f"{topic} on {network}"),
                {"type": "actions", "elements": [button("Approve", "approve", "42")]},
            ],
        )

    @app.action("approve")
    def approve(ack, body, respond):
        ack()
        respond(replace_original=True, text=f"Approved {body['actions'][0]['value']} by <@{body['user']['id']}>")

    @app.action("slow")
    def slow(ack):
        time.sleep(0.15)
        ack()

    server: WSGIServer = make_server("127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    with SlackRequests(f"http://127.0.0.1:{server.server_port}", SECRET, fake) as requests:
        yield requests
    server.shutdown()
    server.server_close()


def test_bolt_round_trip_command_modal_click(fake: FakeSlack, bolt: SlackRequests) -> None:
    assert bolt.command("", "U_ANA", bad_signature=True).status_code == 401
    assert bolt.command("brief", "U_ANA").status_code == 200
    view = fake.wait_for(lambda: bolt.last_view("U_ANA"))

    invalid = bolt.submit_view(view, "U_ANA", {"topic": "", "pick": "ig"})
    assert invalid.json() == {"response_action": "errors", "errors": {"topic": "Required"}}
    assert bolt.submit_view(view, "U_ANA", {"topic": "Launch", "channel": "Instagram"}).status_code == 200
    assert fake.open_views("U_ANA") == []

    message = fake.wait_for(lambda: fake.dm_messages("U_ANA"))[0]
    assert message["text"] == "Launch on ig"
    assert bolt.click(message, "U_ANA", text="Approve").status_code == 200
    fake.wait_for(lambda: fake.dm_messages("U_ANA")[0]["text"].startswith("Approved 42"))
    assert fake.rejections() == []
    with pytest.raises(AssertionError, match="no buttons"):
        bolt.find_button(fake.dm_messages("U_ANA")[0], text="Approved")


def test_clicks_on_ephemerals_replace_them_and_slow_acks_are_noted(fake: FakeSlack, bolt: SlackRequests) -> None:
    blocks = [{"type": "actions", "elements": [button("Approve", "approve", "7"), button("Slow", "slow")]}]
    WebClient(token=TOKEN, base_url=fake.api_url).chat_postEphemeral(
        channel="C_GENERAL", user="U_ANA", text="Choose", blocks=blocks
    )
    (ephemeral,) = fake.ephemerals("U_ANA")
    assert bolt.click(ephemeral, "U_ANA", action_id="approve").status_code == 200
    fake.wait_for(lambda: fake.ephemerals("U_ANA")[0]["text"] == "Approved 7 by <@U_ANA>")
    assert fake.warnings() == []

    bolt.ack_timeout = 0.1
    client = WebClient(token=TOKEN, base_url=fake.api_url)
    client.chat_postMessage(channel="C_GENERAL", text="Slow one", blocks=blocks)
    bolt.click(fake.messages("C_GENERAL")[0], "U_ANA", text="Slow")
    assert [w["method"] for w in fake.warnings()] == ["ack"]
