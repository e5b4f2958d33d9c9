"""Every button, form, shortcut and event handler, fed bad and tampered payloads through the signed endpoint.

For every case: the HTTP answer is 200 or 4xx (never 5xx); the database is exactly as before (but for a
polite answer owed to the sender); nothing is logged as an error; the sender reads a clear message in their
own language (Ana, ``REF``, reads Spanish); and Slack accepted everything the bot sent (checked by the
``stage`` fixture at the end). Acme's people and strangers name Beta's drafts, questions and crises.
"""

from __future__ import annotations

import itertools
import json
import logging
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.approvals import ids as approval_ids
from bot.crises import ids as crisis_ids
from bot.plans import ids as plan_ids
from bot.tracking import ids as tracking_ids
from tests.badinput import strategies as bad
from tests.badinput.helpers import (
    LANGUAGE,
    MISSING,
    Checks,
    answer_texts,
    assert_polite,
    error_records,
    forged_click,
    forged_submission,
    input_block_ids,
    registered_listeners,
    response_texts,
    state_of,
)
from tests.support.people import BACKUP, LEAD, OTHER_REF, REF, STRANGER

# Example counts keep this file under 30 s on SQLite; BADINPUT_SCALE=20 multiplies them for a deeper run.
SCALE = float(os.environ.get("BADINPUT_SCALE", "1"))


def fuzz(examples: int):
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


OUTSIDERS = [REF, STRANGER]  # neither may touch Beta's objects

# Where each button really sits in the world (the message a forged click claims to come from).
BUTTON_HOME = {
    approval_ids.APPROVE: "card",
    approval_ids.REQUEST_CHANGES: "card",
    approval_ids.REJECT: "card",
    approval_ids.REASSIGN: "card",
    approval_ids.FULL_TEXT: "card",
    approval_ids.REVISE: "card",
    tracking_ids.ANSWER: "question_msg",
    tracking_ids.PROMISE: "question_msg",
    tracking_ids.CANCEL_QUESTION: "question_msg",
    crisis_ids.ACKNOWLEDGE: "page",
    crisis_ids.RESOLVE: "page",
    crisis_ids.STEP_DONE: "page",
    crisis_ids.DECLARE_SUGGESTED: "page",
    crisis_ids.DISMISS_SUGGESTED: "page",
    crisis_ids.RELEASE_HELD: "page",
    crisis_ids.KEEP_HELD: "page",
    approval_ids.EDIT: "author_copy",
    approval_ids.WITHDRAW: "author_copy",
    approval_ids.RESCHEDULE: "author_copy",
}
FORMS = {
    approval_ids.COMMENT_MODAL,
    approval_ids.REASSIGN_MODAL,
    approval_ids.DRAFT_MODAL,
    tracking_ids.ANSWER_MODAL,
    tracking_ids.PROMISE_MODAL,
    plan_ids.PLAN_MODAL,
    crisis_ids.DECLARE_MODAL,
    approval_ids.SHORTCUT_MODAL,
    approval_ids.RESCHEDULE_MODAL,
}
SHORTCUTS = {crisis_ids.FLAG_SHORTCUT, approval_ids.SEND_FOR_APPROVAL}
EVENTS = {"message", "app_home_opened"}


def test_every_listener_has_bad_input_cases(stage):
    """A new button, form, shortcut or event needs its entry above (and a world object to point at)."""
    found = registered_listeners(stage.bot.nexo)
    assert found.actions == set(BUTTON_HOME)
    assert found.views == FORMS == set(stage.beta.views)
    assert found.shortcuts == SHORTCUTS
    assert found.events == EVENTS


# -- buttons --------------------------------------------------------------------------------------------------
def check_click(stage, caplog, user, action_id, value, on, drop=()):
    checks = Checks(stage, caplog)
    r, url = forged_click(stage.slack, user, action_id, value, on=on, drop=drop)
    assert r.status_code < 500, r.text
    if r.status_code == 200 and "response_url" not in drop:
        texts = stage.fake.wait_for(lambda: response_texts(stage.fake, url), message=f"a refusal of {action_id}")
        for text in texts:
            assert_polite(text, LANGUAGE[user])
    checks.done(actor=user, response_url=url)


@fuzz(25)
@given(data=st.data())
def test_forged_clicks_are_refused_politely_and_change_nothing(stage, caplog, data):
    world = stage.beta
    action_id = data.draw(st.sampled_from(sorted(BUTTON_HOME)), label="action")
    user = data.draw(st.sampled_from(OUTSIDERS), label="user")
    value = data.draw(st.one_of(bad.values(world.object_values()), st.just(MISSING)), label="value")
    on = data.draw(st.sampled_from([getattr(world, BUTTON_HOME[action_id]), None]), label="on")
    check_click(stage, caplog, user, action_id, value, on)


@fuzz(8)
@given(action_id=st.text(max_size=60).filter(lambda a: a not in BUTTON_HOME), value=bad.garbage)
def test_unknown_buttons_are_not_found(stage, caplog, action_id, value):
    checks = Checks(stage, caplog)
    r, _ = forged_click(stage.slack, REF, action_id, value, on=stage.beta.card)
    assert r.status_code in (400, 404), r.text  # 400: an empty action_id is no action at all
    checks.done(actor=REF)


# -- forms ----------------------------------------------------------------------------------------------------
def check_submission(stage, caplog, user, view, state, metadata=MISSING):
    checks = Checks(stage, caplog)
    r, answer = forged_submission(stage.slack, user, view, state=state, metadata=metadata)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        texts = answer_texts(answer)
        assert texts, f"a forged {view['callback_id']} was accepted: {answer}"
        for text in texts:
            assert_polite(text, LANGUAGE[user])
        if answer["response_action"] == "errors":
            assert set(answer["errors"]) <= input_block_ids(view), answer
    checks.done(actor=user)


@fuzz(25)
@given(data=st.data())
def test_forged_form_submissions_are_refused_politely_and_change_nothing(stage, caplog, data):
    world = stage.beta
    callback = data.draw(st.sampled_from(sorted(FORMS)), label="form")
    view = world.views[callback]
    user = data.draw(st.sampled_from(OUTSIDERS), label="user")
    known = world.object_values()
    values = {}
    for block in view["blocks"]:
        if block.get("type") == "input" and data.draw(st.integers(0, 4), label="fill?"):
            values[block["block_id"]] = data.draw(
                bad.element_state(block["element"]["type"], known), label=block["block_id"]
            )
    if callback == crisis_ids.DECLARE_MODAL and user == REF:  # Ana may declare a crisis for Acme: that's no bad input
        picked = values.get(crisis_ids.CLIENT) or {}
        chosen = picked.get("selected_option") if isinstance(picked, dict) else None
        raw = chosen.get("value") if isinstance(chosen, dict) else None
        assume(not (isinstance(raw, str) and raw.isdecimal() and raw.isascii() and int(raw) == world.acme_id))
    metadata = data.draw(st.one_of(st.just(MISSING), bad.metadata(known)), label="metadata")
    check_submission(stage, caplog, user, view, state_of(view, values), metadata)


@fuzz(10)
@given(data=st.data())
def test_malformed_form_state_is_refused(stage, caplog, data):
    """``state.values`` itself of the wrong shape (not a dict of dicts)."""
    callback = data.draw(st.sampled_from(sorted(FORMS)), label="form")
    state = data.draw(
        st.one_of(
            bad.wrong_type,
            st.dictionaries(
                st.sampled_from(sorted(input_block_ids(stage.beta.views[callback]))), bad.wrong_type, max_size=3
            ),
        ),
        label="state",
    )
    check_submission(stage, caplog, data.draw(st.sampled_from(OUTSIDERS)), stage.beta.views[callback], state)


# -- the message shortcut ---------------------------------------------------------------------------------------
@fuzz(12)
@given(data=st.data())
def test_flagging_any_message_opens_the_form_or_refuses_politely(stage, caplog, data):
    fake, slack = stage.fake, stage.slack
    user = data.draw(st.sampled_from([REF, STRANGER, LEAD, BACKUP]), label="user")
    text = data.draw(
        st.one_of(bad.garbage, st.sampled_from([bad.LONG, "x\n" * 3000, "🚨" * 5000]), bad.wrong_type), label="text"
    )
    channel = data.draw(
        st.one_of(st.sampled_from(["C_GENERAL", fake.dm_channel(OTHER_REF), "C0NOWHERE"]), bad.garbage), label="channel"
    )
    ts = data.draw(st.one_of(st.just("1700000000.000100"), bad.garbage, bad.wrong_type), label="ts")
    checks = Checks(stage, caplog)
    opened = len(fake.views_opened(user))
    url = fake.new_response_url(channel=str(channel), user=user)
    message = {"type": "message", "user": OTHER_REF, "ts": ts, "text": text}
    shortcut = data.draw(st.sampled_from(sorted(SHORTCUTS)), label="shortcut")
    payload = slack.envelope(
        "message_action",
        user,
        None,
        callback_id=shortcut,
        trigger_id=fake.issue_trigger_id(user),
        response_url=url,
        channel={"id": channel, "name": "x"},
        message=message,
        message_ts=ts,
        action_ts="1700000000.000200",
    )
    r = slack.send_interaction(payload)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        fake.wait_for(
            lambda: len(fake.views_opened(user)) > opened or response_texts(fake, url), message="a form or an answer"
        )
        for answer in response_texts(fake, url):
            assert_polite(answer, LANGUAGE[user])
    checks.done(actor=user, response_url=url)


# -- events -----------------------------------------------------------------------------------------------------
@fuzz(12)
@given(data=st.data())
def test_odd_messages_and_replies_in_other_clients_threads_change_nothing(stage, caplog, data):
    slack, world = stage.slack, stage.beta
    question_thread = (world.question_msg["channel"], world.question_msg["ts"])
    user = data.draw(st.one_of(st.sampled_from([REF, STRANGER, "U_NOBODY"]), bad.wrong_type), label="user")
    channel, thread_ts = data.draw(
        st.one_of(
            st.just(question_thread),
            st.tuples(
                st.one_of(st.sampled_from(["C_GENERAL", question_thread[0]]), bad.garbage, bad.wrong_type),
                st.one_of(bad.garbage, bad.wrong_type),
            ),
        ),
        label="where",
    )
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "ts": "1700000001.000100",
        "thread_ts": thread_ts,
        "text": data.draw(st.one_of(bad.garbage, st.just(bad.LONG), bad.wrong_type), label="text"),
        "subtype": data.draw(
            st.sampled_from([None, "thread_broadcast", "file_share", "message_changed", "bot_message", "💥"]),
            label="subtype",
        ),
    }
    for key in data.draw(st.lists(st.sampled_from(sorted(event)), max_size=3, unique=True), label="drop"):
        event.pop(key)
    checks = Checks(stage, caplog)
    r = slack.event(event)
    assert r.status_code < 500, r.text
    checks.done(actor=str(user))


@fuzz(8)
@given(
    user=st.one_of(st.sampled_from([REF, STRANGER, OTHER_REF, LEAD]), bad.wrong_type, st.just(MISSING)),
    tab=st.one_of(st.sampled_from(["home", "messages", "about"]), bad.garbage, bad.wrong_type, st.just(MISSING)),
)
def test_home_tab_opened_with_odd_events_changes_nothing(stage, caplog, user, tab):
    """Slack only sends this for real people (a made-up user id would be a forged request)."""
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab}
    event = {k: v for k, v in event.items() if v is not MISSING}
    checks = Checks(stage, caplog)
    homes = len(stage.fake.home_views(user)) if isinstance(user, str) else 0
    r = stage.slack.event(event)
    assert r.status_code < 500, r.text
    if isinstance(user, str) and user in LANGUAGE and tab in ("home", MISSING):
        stage.fake.wait_for(lambda: len(stage.fake.home_views(user)) > homes, message="the Home tab")
    checks.done(actor=str(user))


# -- requests that are not even well-formed -------------------------------------------------------------------
RAW = [
    ("payload=not-json", "application/x-www-form-urlencoded"),
    ("payload=", "application/x-www-form-urlencoded"),
    ("payload=%5B%5D", "application/x-www-form-urlencoded"),  # []
    ("payload=5", "application/x-www-form-urlencoded"),
    ("payload=%7B%7D", "application/x-www-form-urlencoded"),  # {}
    ('payload={"type":"block_actions"}', "application/x-www-form-urlencoded"),
    ('payload={"type":"block_actions","user":{"id":"U0REF"},"actions":[]}', "application/x-www-form-urlencoded"),
    ('payload={"type":"view_submission","user":{"id":"U0REF"},"view":null}', "application/x-www-form-urlencoded"),
    (
        'payload={"type":"view_submission","user":{"id":"U0REF"},"view":{"callback_id":"draft_modal"}}',
        "application/x-www-form-urlencoded",
    ),
    ('payload={"type":"💥"}', "application/x-www-form-urlencoded"),
    ("", "application/x-www-form-urlencoded"),
    ("command=%2Fnexo", "application/x-www-form-urlencoded"),
    ("command=%2Fnexo&text=help", "application/x-www-form-urlencoded"),
    ("command=%2Fother&text=help&user_id=U0REF", "application/x-www-form-urlencoded"),
    ("{", "application/json"),
    ("[]", "application/json"),
    ("null", "application/json"),
    ('{"type":"url_verification"}', "application/json"),
    ('{"type":"event_callback"}', "application/json"),
    ('{"type":"event_callback","event_id":"Ev1","event":null}', "application/json"),
    ('{"type":"event_callback","event_id":"Ev2","event":{"type":"message"}}', "application/json"),
    ('{"type":"event_callback","event_id":"Ev3","event":{"type":"app_home_opened"}}', "application/json"),
    ('{"type":"event_callback","event_id":"Ev4","event":{"type":"reaction_added","user":"U0REF"}}', "application/json"),
    ("\x00\xff", "application/octet-stream"),
    ("a=" + "x" * 200_000, "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize(("body", "content_type"), RAW)
def test_malformed_requests_get_no_5xx_and_change_nothing(stage, caplog, body, content_type):
    checks = Checks(stage, caplog)
    r = stage.slack.post(body, content_type)
    assert r.status_code < 500, r.text
    checks.done(actor=REF)


# -- hand-picked: structural fields missing, and tampering a person could actually attempt -----------------
@pytest.mark.parametrize("value", ["²", "2147483648", "1:١", "9" * 30, [1], None])
@pytest.mark.parametrize("action_id", [approval_ids.APPROVE, tracking_ids.PROMISE, crisis_ids.DECLARE_SUGGESTED])
def test_hand_picked_button_values_are_refused(stage, caplog, action_id, value):
    """Digits Python reads but a database id is not; ids past PostgreSQL's INTEGER; not a string at all."""
    check_click(stage, caplog, REF, action_id, value, getattr(stage.beta, BUTTON_HOME[action_id]))


@pytest.mark.parametrize(
    "state",
    [
        {crisis_ids.DESCRIPTION: 1},
        {"x": {"y": [1]}},
        {"x": {"y": {"value": 5}}},
        {"x": {"y": {"selected_option": "1"}}},
        {"x": {"y": {"selected_users": "U1"}}},
    ],
)
def test_hand_picked_form_states_are_refused(stage, caplog, state):
    check_submission(stage, caplog, REF, stage.beta.views[crisis_ids.DECLARE_MODAL], state)


@pytest.mark.parametrize(
    "action_id", [approval_ids.APPROVE, tracking_ids.ANSWER, tracking_ids.PROMISE, crisis_ids.ACKNOWLEDGE]
)
def test_buttons_without_response_url_or_trigger_still_answer_politely(stage, caplog, action_id):
    """A refusal reaches the clicker even without a response_url (buttons outside messages have none)."""
    world = stage.beta
    value = world.draft_value if action_id == approval_ids.APPROVE else "1"
    check_click(
        stage,
        caplog,
        REF,
        action_id,
        value,
        getattr(world, BUTTON_HOME[action_id]),
        drop=("response_url", "trigger_id"),
    )
    stage.fake.wait_for(
        lambda: (
            [e for e in stage.fake.ephemerals(REF) if e.get("source") != "command_ack"] or stage.fake.dm_messages(REF)
        ),
        message="a refusal without a response_url",
    )


def test_metadata_pointing_at_another_clients_objects_is_refused_in_spanish(stage, caplog):
    world = stage.beta
    pointers = {
        approval_ids.COMMENT_MODAL: {"draft_id": world.draft_id, "version": 1, "decision": "reject"},
        approval_ids.REASSIGN_MODAL: {"draft_id": world.draft_id, "version": 1},
        approval_ids.DRAFT_MODAL: {"draft_id": world.draft_id, "version": 1, "edit": True},
        approval_ids.RESCHEDULE_MODAL: {"draft_id": world.draft_id, "version": 1},
        tracking_ids.ANSWER_MODAL: {"question_id": world.question_id},
        tracking_ids.PROMISE_MODAL: {"request_id": world.request_id},
        plan_ids.PLAN_MODAL: {"client_id": world.beta_id, "version": 1},
        crisis_ids.DECLARE_MODAL: {"channel": "C_GENERAL", "ts": "1700000000.000100"},
    }
    filled = {
        approval_ids.COMMENT: {"type": "plain_text_input", "value": "No"},
        approval_ids.ASSIGNEE: {"type": "radio_buttons", "selected_option": {"value": REF}},
        approval_ids.TEXT: {"type": "plain_text_input", "value": "Acme was here"},
        tracking_ids.ANSWER_TEXT: {"type": "plain_text_input", "value": "Sí"},
        tracking_ids.PROMISE_DATE: {"type": "datepicker", "selected_date": "2026-11-24"},
        tracking_ids.PROMISE_TIME: {"type": "timepicker", "selected_time": "10:00"},
        approval_ids.RESCHEDULE_DATE: {"type": "datepicker", "selected_date": "2026-11-30"},
        approval_ids.RESCHEDULE_TIME: {"type": "timepicker", "selected_time": "10:00"},
        plan_ids.REFERENCE: {"type": "users_select", "selected_user": REF},
        crisis_ids.CLIENT: {"type": "static_select", "selected_option": {"value": str(world.beta_id)}},
        crisis_ids.DESCRIPTION: {"type": "plain_text_input", "value": "Beta is in trouble"},
    }
    for callback, meta in pointers.items():
        view = world.views[callback]
        check_submission(stage, caplog, REF, view, state_of(view, filled), json.dumps(meta))


@pytest.mark.parametrize("callback", sorted(FORMS))
def test_deeply_nested_or_oddly_typed_metadata_is_refused(stage, caplog, callback):
    meta = {
        "draft_id": [1],
        "version": {"a": 1},
        "client_id": True,
        "question_id": 1e400,
        "request_id": "1 OR 1=1",
        "decision": None,
        "nested": json.loads("[" * 500 + "]" * 500),
    }
    check_submission(stage, caplog, STRANGER, stage.beta.views[callback], {}, "[" * 3000 + "]" * 3000)
    check_submission(stage, caplog, REF, stage.beta.views[callback], {}, json.dumps(meta))


def test_errors_logged_by_the_bot_would_be_seen(caplog):
    """The "nothing logged as an error" checks above are not vacuous."""
    logging.getLogger("bot.handlers").error("probe")
    assert error_records(caplog.records)


def test_nul_characters_never_reach_the_database(stage, caplog):
    """PostgreSQL text can't hold U+0000; hypothesis once drew it into a flagged message's channel."""
    fake, slack = stage.fake, stage.slack
    cases = ((REF, "C\x00", "a\x00b"), (STRANGER, "C_GENERAL", "\x00"), (LEAD, "C\x00X", "x"))
    for (user, channel, text), shortcut in itertools.product(cases, sorted(SHORTCUTS)):
        checks = Checks(stage, caplog)
        opened = len(fake.views_opened(user))
        url = fake.new_response_url(channel=channel, user=user)
        message = {"type": "message", "user": OTHER_REF, "ts": "1700000000.000100", "text": text}
        payload = slack.envelope(
            "message_action",
            user,
            None,
            callback_id=shortcut,
            trigger_id=fake.issue_trigger_id(user),
            response_url=url,
            channel={"id": channel, "name": "x"},
            message=message,
            message_ts="1700000000.000100",
            action_ts="1700000000.000200",
        )
        r = slack.send_interaction(payload)
        assert r.status_code == 200, r.text
        fake.wait_for(
            lambda u=user, o=opened, url=url: len(fake.views_opened(u)) > o or response_texts(fake, url),
            message="a form or an answer",
        )
        for answer in response_texts(fake, url):
            assert_polite(answer, LANGUAGE[user])
        checks.done(actor=user, response_url=url)
