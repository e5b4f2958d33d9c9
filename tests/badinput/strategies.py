"""What people (or a tampered client) can put where the bot expects its own values back."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.support.people import BOT_USER, OTHER_REF, REF, STRANGER

LONG = "Ñ" * 2500 + "🎉" * 2500  # 5,000 characters, half of them outside the BMP
NASTY = [
    "",
    " ",
    "\n",
    "0",
    "-1",
    "00",
    "1:",
    ":1",
    "1:1:1",
    "1::1",
    "²",
    "١٢",
    "１",
    "1_0",
    " 1",
    "+1",
    "1.0",
    "1e3",
    "9" * 30,
    "99999999999",
    "2147483648",
    "9223372036854775808",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "[1]",
    '{"draft_id": 1}',
    '{"draft_id": "1", "version": "1"}',
    "{",
    '"',
    "\\",
    "\x00",
    "\u202e1",
    "1\n",
    "<@U0REF>",
    "'; DROP TABLE clients; --",
    "%s%s%n",
    "../../etc/passwd",
    "A" * 5000,
    LONG,
    "a\u0301" * 100,
    "\ud7ff",
]
PEOPLE = [REF, OTHER_REF, STRANGER, BOT_USER, "U_NOBODY", "W0ENTERPRISE", "USLACKBOT"]
DATES = ["2026-12-01", "2026-11-23", "2026-02-30", "1900-01-01", "9999-12-31", "2026-13-01", "tomorrow", ""]
TIMES = ["10:00", "00:00", "23:59", "24:00", "25:61", "9", "10:00:00", ""]

garbage = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(lambda a, b: f"{a}:{b}", st.integers(-5, 2**40), st.integers(-5, 2**40)),
)
wrong_type = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(0, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(0, 5), max_size=2),
)


def values(known: list[str]) -> st.SearchStrategy[Any]:
    """A button value or a picked option: one of Beta's ids, garbage, or not a string at all."""
    return st.one_of(st.sampled_from(known), garbage, st.sampled_from(PEOPLE + DATES + TIMES), wrong_type)


def metadata(known: list[str]) -> st.SearchStrategy[Any]:
    """``private_metadata``: JSON naming Beta's objects, malformed JSON, or not a string at all."""
    ids = st.one_of(st.sampled_from(known).map(lambda v: int(v.split(":")[0])), values(known))
    keys = st.sampled_from(
        ["draft_id", "version", "decision", "client_id", "question_id", "request_id", "channel", "ts", "link"]
    )
    as_json = st.dictionaries(keys, ids, max_size=4).map(_dumps)
    odd = ["null", "[]", "5", '"x"', "{", '{"a":', "[" * 3000 + "]" * 3000, '{"draft_id": 1e400}', "NaN"]
    return st.one_of(as_json, garbage, wrong_type, st.sampled_from(odd))


def element_state(element_type: str, known: list[str]) -> st.SearchStrategy[Any]:
    """What Slack would report for one input element, with any value at all in it."""
    v = values(known)
    option = st.one_of(st.builds(lambda x: {"value": x, "text": {"type": "plain_text", "text": "x"}}, v), wrong_type)
    shapes = {
        "plain_text_input": st.builds(lambda x: {"value": x}, st.one_of(v, st.sampled_from([LONG, "x\n" * 2500]))),
        "static_select": st.builds(lambda x: {"selected_option": x}, option),
        "radio_buttons": st.builds(lambda x: {"selected_option": x}, option),
        "multi_static_select": st.builds(
            lambda x: {"selected_options": x}, st.one_of(st.lists(option, max_size=3), wrong_type)
        ),
        "checkboxes": st.builds(lambda x: {"selected_options": x}, st.one_of(st.lists(option, max_size=3), wrong_type)),
        "users_select": st.builds(lambda x: {"selected_user": x}, v),
        "multi_users_select": st.builds(
            lambda x: {"selected_users": x}, st.one_of(st.lists(v, max_size=3), wrong_type)
        ),
        "conversations_select": st.builds(lambda x: {"selected_conversation": x}, v),
        "channels_select": st.builds(lambda x: {"selected_channel": x}, v),
        "datepicker": st.builds(lambda x: {"selected_date": x}, v),
        "timepicker": st.builds(lambda x: {"selected_time": x}, v),
        "file_input": st.builds(
            lambda x: {"files": x},
            st.one_of(st.lists(st.builds(lambda i, n: {"id": i, "name": n}, v, v), max_size=3), wrong_type),
        ),
    }
    typed = shapes[element_type].map(lambda state: {"type": element_type, **state})
    return st.one_of(typed, typed, wrong_type, st.just({}))


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
