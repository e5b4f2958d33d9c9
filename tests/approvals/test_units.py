"""Pure parts: the inline syntax, text fitting, the word diff, the card in every state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.approvals import blocks, ids, spec, text
from bot.approvals.blocks import CardState, CardView
from bot.approvals.models import DraftVersion, Stage
from bot.errors import UserError
from bot.fakeslack import validate_message
from bot.i18n import translator

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "client", "options", "body"),
    [
        ("Acme Hello: world", "Acme", {}, "Hello: world"),
        (
            '"Acme Foods" network:ig,x at:2026-12-01T10:00 Hi',
            "Acme Foods",
            {"network": "ig,x", "at": "2026-12-01T10:00"},
            "Hi",
        ),
        ("Acme category:“Big promos” Line one\nLine two", "Acme", {"category": "Big promos"}, "Line one\nLine two"),
        ('Acme\nat:"2026-12-01 10:00"\nText', "Acme", {"at": "2026-12-01 10:00"}, "Text"),
        ("Acme", "Acme", {}, ""),
        ("Acme Text with network:x later", "Acme", {}, "Text with network:x later"),
    ],
)
def test_split_command(args, client, options, body):
    assert spec.split_command(args) == (client, options, body)


def test_inline_fields_are_validated_in_the_clients_time_zone():
    fields = spec.fields_from_command(
        {"network": "IG, twitter", "at": "2026-12-01T10:00", "category": " Promos "}, "Hi", tz="Europe/Madrid", now=NOW
    )
    assert fields.networks == ["instagram", "x"] and fields.category == "Promos"
    assert fields.publish_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(UserError) as bad:
        spec.fields_from_command({"network": "myspace"}, "Hi", tz="UTC", now=NOW)
    assert bad.value.field == "networks"
    with pytest.raises(UserError):
        spec.fields_from_command({"at": "2026-11-01T10:00"}, "Hi", tz="UTC", now=NOW)  # in the past
    with pytest.raises(UserError):
        spec.fields_from_command({"at": "tomorrow"}, "Hi", tz="UTC", now=NOW)
    with pytest.raises(UserError):
        spec.fields_from_command({}, "x" * 40_001, tz="UTC", now=NOW)
    with pytest.raises(UserError):
        spec.parse_links("javascript:alert(1)")


def test_fit_never_cuts_an_escape_and_respects_the_limit():
    raw = "a&b<c> " * 2000
    shown, shortened = text.fit(raw, 3000)
    assert shortened and len(shown) <= 3000 and shown.endswith("…")
    assert "&am…" not in shown and "&l…" not in shown
    pieces = text.chunks(raw, 2900)
    assert all(len(p) <= 2900 for p in pieces) and "".join(pieces) == text.escape(raw)


def test_word_diff_marks_removed_and_added_words_and_elides_the_rest():
    old = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen old ending"
    new = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen new ending!"
    diff, _ = text.word_diff(old, new, 3000)
    assert diff == "… nine ten eleven twelve thirteen fourteen ~old ending~ *new ending!*"
    assert text.word_diff("same", "same", 3000)[0] == "same"


def _view(state: CardState, length: int, stage: Stage = Stage.CLIENT) -> CardView:
    v = DraftVersion(
        number=2,
        text="Ñ & <b> " * (length // 8),
        networks=list(spec.NETWORKS),
        publish_at=NOW,
        category="c" * 60,
        media_links=[f"https://cdn.example.com/{i}/" + "x" * 90 for i in range(20)],
        internal_note="n" * 2000,
    )
    previous = DraftVersion(number=1, text="Other words " * (length // 12), networks=[], media_links=[])
    return CardView(
        reference="ACMEFOODS-12345",
        client_name="A" * 60,
        stage=stage,
        version=v,
        previous=previous,
        author="U0CM",
        timezone="Europe/Madrid",
        value="1:2",
        state=state,
        due_at=NOW,
        reviewers=["U1", "U2", "U3"],
        require_all=True,
        approved_so_far=["U1"],
        can_reassign=True,
        decided_by="U1",
        decided_at=NOW,
        comment="c" * 3000,
        superseded_by=3,
        assignee="U2",
        handed_by="U1",
    )


@pytest.mark.parametrize("state", list(CardState))
@pytest.mark.parametrize("length", [10, 5_000, 40_000])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_card_stays_within_block_kit_limits_in_every_state(state, length, lang):
    for stage in Stage:
        fallback, card = blocks.approval_card(_view(state, length, stage), translator(lang))
        assert validate_message(fallback, card) == [], (state, length)
        assert fallback.strip() and len(card) <= 50
        actions = [e["action_id"] for b in card if b["type"] == "actions" for e in b["elements"]]
        if state == CardState.OPEN:
            assert actions[:3] == [ids.APPROVE, ids.REQUEST_CHANGES, ids.REJECT]
        elif state == CardState.CHANGES_REQUESTED:
            assert actions[0] == ids.APPROVE and ids.REJECT not in actions
        else:
            assert ids.APPROVE not in actions


def test_every_status_change_is_declared_and_rejected_or_withdrawn_drafts_stay_so():
    from bot.approvals import service
    from bot.approvals.models import FINAL_STATUSES, OPEN_STATUSES, TRANSITIONS, DraftStatus, allowed_from

    assert set(TRANSITIONS) == set(DraftStatus)
    assert set(FINAL_STATUSES) == {DraftStatus.REJECTED, DraftStatus.WITHDRAWN}
    assert all(not TRANSITIONS[s] for s in FINAL_STATUSES)
    assert set(allowed_from(DraftStatus.APPROVED)) == {*OPEN_STATUSES, DraftStatus.APPROVED}  # + rescheduled
    assert set(allowed_from(DraftStatus.WITHDRAWN)) == {*OPEN_STATUSES, DraftStatus.APPROVED}
    # Back to review from approved only by an edit (a new version); never from rejected.
    assert set(allowed_from(DraftStatus.CLIENT_REVIEW)) == {*OPEN_STATUSES, DraftStatus.APPROVED}
    assert allowed_from(DraftStatus.INTERNAL_CHANGES) == (DraftStatus.INTERNAL_REVIEW, DraftStatus.INTERNAL_CHANGES)
    with pytest.raises(ValueError):  # refused before any SQL: the table does not declare it
        service.transition(
            None,
            None,
            DraftStatus.CLIENT_REVIEW,
            version=1,
            now=NOW,  # type: ignore[arg-type]
            from_=(DraftStatus.REJECTED,),
        )
