"""The fake's Slack Connect rules, through the real WebClient: a second organization whose people the bot
may DM only across a shared channel, who get no locale, and who cannot run /nexo or open the Home tab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.fakeslack import FakeSlack, NotSharedWithOtherOrgs, SlackRequests


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(team_id="T_AGENCY", slack_connect=True) as server:
        server.add_user("U_STAFF", "carla", team_id="T_AGENCY", locale="es-ES")
        server.add_user("U_EXT", "ana", team_id="T_CLIENT", locale="es-ES")
        yield server


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def test_a_person_of_another_org_is_reachable_only_across_a_shared_channel(fake):
    api = WebClient(token=fake.bot_token, base_url=fake.api_url)
    assert api.conversations_open(users="U_STAFF")["ok"]  # the agency's own people: always
    assert error_of(lambda: api.conversations_open(users="U_EXT")) == "invalid_user_combination"
    assert error_of(lambda: api.chat_postMessage(channel="U_EXT", text="hi")) == "channel_not_found"
    assert not fake.can_dm("U_EXT")

    fake.add_channel("C_SHARED", "acme-agency", members=["U_EXT", "U_STAFF"], is_ext_shared=True)
    dm = api.conversations_open(users="U_EXT")["channel"]["id"]
    assert api.chat_postMessage(channel="U_EXT", text="hi")["channel"] == dm

    fake.add_channel("C_SHARED", "acme-agency", members=["U_STAFF"], is_ext_shared=True)  # they left it
    assert error_of(lambda: api.chat_postMessage(channel=dm, text="again")) == "channel_not_found"


def test_no_locale_for_another_org_even_when_asked(fake):
    api = WebClient(token=fake.bot_token, base_url=fake.api_url)
    assert "locale" not in api.users_info(user="U_EXT", include_locale=True)["user"]
    assert api.users_info(user="U_EXT")["user"]["team_id"] == "T_CLIENT"
    assert api.users_info(user="U_STAFF", include_locale=True)["user"]["locale"] == "es-ES"


def test_the_rules_are_off_unless_asked():
    with FakeSlack(team_id="T_AGENCY") as fake:
        fake.add_user("U_EXT", "ana", team_id="T_CLIENT", locale="es-ES")
        api = WebClient(token=fake.bot_token, base_url=fake.api_url)
        assert api.conversations_open(users="U_EXT")["ok"]
        assert api.users_info(user="U_EXT", include_locale=True)["user"]["locale"] == "es-ES"


def test_slack_sends_no_command_shortcut_or_home_of_another_org(fake):
    requests = SlackRequests("http://127.0.0.1:9", "secret", fake)  # nothing is sent: refused before
    with pytest.raises(NotSharedWithOtherOrgs):
        requests.command("pending", "U_EXT")
    with pytest.raises(NotSharedWithOtherOrgs):
        requests.shortcut("nexo_draft", {"ts": "1.1", "text": "x"}, "C_X", "U_EXT")
    with pytest.raises(NotSharedWithOtherOrgs):
        requests.global_shortcut("nexo_new", "U_EXT")
    with pytest.raises(NotSharedWithOtherOrgs):
        requests.event({"type": "app_home_opened", "user": "U_EXT", "tab": "home"})


def test_clicks_and_forms_of_another_org_name_it_and_the_agency_installed_the_app(fake):
    import json
    from urllib.parse import parse_qs

    import httpx

    sent: list[dict] = []

    def bot(request: httpx.Request) -> httpx.Response:  # stands for the bot: keeps what Slack sent it
        sent.append(json.loads(parse_qs(request.content.decode())["payload"][0]))
        return httpx.Response(200, stream=httpx.ByteStream(b""))

    requests = SlackRequests("http://bot.test", "secret", fake, http=httpx.Client(transport=httpx.MockTransport(bot)))
    message = {
        "channel": "D1",
        "ts": "1.000001",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}, "value": "1"}
                ],
            }
        ],
    }
    requests.click(message, "U_EXT", "go")
    requests.submit_view({"id": "V1", "type": "modal", "blocks": []}, "U_EXT")
    click, form = sent
    assert click["user"]["team_id"] == "T_CLIENT"
    assert form["user"]["team_id"] == "T_CLIENT" and form["team"]["id"] == "T_CLIENT"
    assert form["view"]["app_installed_team_id"] == "T_AGENCY"
