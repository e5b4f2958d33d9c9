"""Images and videos in drafts: the Send for approval shortcut, the form's file input, copies shared where
each card goes, the publishing tool's signed media links, and every file the bot must refuse."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DraftMedia, DraftStatus
from tests.approvals.test_webhook import SECRET, Receiver
from tests.support.people import LEAD, REF
from tests.support.world import CM_EN, text_of

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels-of-the-beach" * 50
JPEG = b"\xff\xd8\xff\xe0" + b"sunset" * 80
DM_OF_CM = "DU0CMEN"


@pytest.fixture
def receiver():
    r = Receiver(statuses=())
    yield r
    r.stop()


def message_with_files(fake, text: str, *files: tuple[str, str, bytes], by: str = CM_EN, **extra):
    """``by`` writes ``text`` in their DM with Nexo with files attached (what the shortcut acts on)."""
    ids_ = [fake.add_file(by, name, mimetype, data, **extra) for name, mimetype, data in files]
    return fake.add_message(fake.dm_channel(by), by, text, files=ids_), ids_


def send_for_approval(world, message, *, by: str = CM_EN, values: dict | None = None):
    """The shortcut on ``message``, then its form submitted for Acme (and ``values``); returns the ack."""
    before = (world.slack.last_view(by) or {}).get("id")
    r = world.slack.shortcut(ids.SEND_FOR_APPROVAL, message, message["channel"], by)
    assert r.status_code == 200, r.text
    form = world.fake.wait_for(
        lambda: (v := world.slack.last_view(by)) and v["id"] != before and v, message="the shortcut's form"
    )  # the form opens after the ack
    assert form["callback_id"] == ids.SHORTCUT_MODAL
    return world.submit(form, by, {ids.CLIENT: str(world.client_id()), **(values or {})}), form


def image_blocks(message):
    return [b for b in message.get("blocks") or [] if b.get("type") == "image"]


def test_the_shortcut_makes_a_draft_whose_card_shows_copies_of_its_images(world):
    world.client()
    message, (beach, sunset) = message_with_files(
        world.fake, "Summer is here ☀️", ("beach.png", "image/png", PNG), ("sunset.jpg", "image/jpeg", JPEG)
    )
    send_for_approval(world, message, values={ids.NETWORKS: ["instagram"]})
    card = world.card(REF, "ACME-1")
    assert "Summer is here ☀️" in text_of(card)
    shown = image_blocks(card)
    assert [b["title"]["text"] for b in shown] == ["beach.png", "sunset.jpg"]
    copies = [f for f in world.fake.uploaded_files() if f["user"] == world.fake.bot_user_id]
    dm = world.fake.dm_channel(REF)
    assert [f["name"] for f in copies] == ["beach.png", "sunset.jpg"]
    assert [f["content"] for f in copies] == [PNG, JPEG]  # the bytes, read with the bot token
    assert all(f["channels"] == [dm] for f in copies)  # shared where the card is, nowhere else
    assert [b["slack_file"]["id"] for b in shown] == [f["id"] for f in copies]  # not the CM's files
    assert beach not in json.dumps(card) and sunset not in json.dumps(card)
    upload = next(m for m in world.fake.dm_messages(REF) if m.get("files"))
    assert float(upload["ts"]) < float(card["ts"])  # the copies first, then the card
    with world.db.sessionmaker() as s:
        rows = list(s.scalars(select(DraftMedia).order_by(DraftMedia.position)))
    assert [(r.file_id, r.name, r.mimetype, r.size) for r in rows] == [
        (beach, "beach.png", "image/png", len(PNG)),
        (sunset, "sunset.jpg", "image/jpeg", len(JPEG)),
    ]
    # Approving edits the card in place: it still shows the copies (the fake refuses any other file).
    world.click(card, REF, ids.APPROVE, until=lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    assert [b["slack_file"]["id"] for b in image_blocks(world.card(REF, "ACME-1"))] == [f["id"] for f in copies]
    assert world.fake.rejections() == []


@pytest.mark.slack_rejections_expected
def test_a_card_may_not_show_a_file_that_is_not_shared_where_it_is_posted(world):
    """What the suite's fake proves: an image block pointing at the CM's own file is refused."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    fake = world.fake
    beach = fake.add_file(CM_EN, "beach.png", "image/png", PNG, channels=[fake.dm_channel(CM_EN)])
    client = WebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])
    block = {"type": "image", "slack_file": {"id": beach}, "alt_text": "beach"}
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=REF, text="look", blocks=[block])
    assert refused.value.response["error"] == "invalid_blocks"
    assert client.chat_postMessage(channel=CM_EN, text="look", blocks=[block])["ok"]  # shared there
    [rejection] = fake.rejections()
    assert f"{beach} is not shared in {fake.dm_channel(REF)}" in rejection["errors"][0]


def test_a_video_shows_its_name_length_and_a_link_to_its_copy(world):
    world.client()
    message, _ = message_with_files(
        world.fake, "Behind the scenes", ("making-of.mp4", "video/mp4", b"\x00" * 900), duration_ms=83_000
    )
    send_for_approval(world, message)
    card = world.card(REF, "ACME-1")
    copy = next(f for f in world.fake.uploaded_files() if f["user"] == world.fake.bot_user_id)
    assert "making-of.mp4" in text_of(card) and "(1:23)" in text_of(card)
    assert copy["permalink"] in json.dumps(card)
    assert image_blocks(card) == []


def test_the_draft_form_takes_files_through_its_file_input(world):
    world.client()
    beach = world.fake.add_file(CM_EN, "beach.png", "image/png", PNG)  # uploaded in the form itself
    world.command("draft Acme", CM_EN)
    form = world.fake.wait_for(lambda: world.slack.last_view(CM_EN))
    file_input = next(b for b in form["blocks"] if b.get("block_id") == ids.FILES)["element"]
    assert file_input["type"] == "file_input" and file_input["max_files"] == 10 and "png" in file_input["filetypes"]
    world.submit(form, CM_EN, {ids.TEXT: "New menu!", ids.FILES: [beach]})
    card = world.card(REF, "ACME-1")
    assert [b["title"]["text"] for b in image_blocks(card)] == ["beach.png"]


def test_the_hand_off_lists_the_media_with_links_that_download_them(world, receiver):
    world.client()
    world.command(f"client webhook Acme webhook:{receiver.url} webhook-secret:{SECRET}", LEAD)
    message, _ = message_with_files(
        world.fake, "Summer is here", ("beach.png", "image/png", PNG), ("sunset.jpg", "image/jpeg", JPEG)
    )
    send_for_approval(world, message)
    world.click(world.card(REF, "ACME-1"), REF, ids.APPROVE)
    world.fake.wait_for(lambda: receiver.received, message="the hand-off")
    body = json.loads(receiver.received[0][1])
    listed = body["post"]["media"]
    assert [(m["name"], m["type"], m["size"], m["kind"]) for m in listed] == [
        ("beach.png", "image/png", len(PNG), "image"),
        ("sunset.jpg", "image/jpeg", len(JPEG), "image"),
    ]
    assert all(m["url"].startswith(f"{world.bot.url}/media/") for m in listed)
    assert world.fake.bot_token not in json.dumps(body) and "files-pri" not in json.dumps(body)

    got = httpx.get(listed[0]["url"])
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png" and "beach.png" in got.headers["content-disposition"]
    assert httpx.get(listed[1]["url"]).content == JPEG

    media_id, expires, mac = listed[0]["url"].rsplit("/", 1)[1].split(".")
    other = listed[1]["url"].rsplit("/", 1)[1].split(".")[0]
    flipped = mac[:-1] + ("B" if mac.endswith("A") else "A")
    for forged in (
        f"{media_id}.{int(expires) + 3600}.{mac}",
        f"{other}.{expires}.{mac}",
        f"{media_id}.{expires}.x",
        "1",
        "not-a-token",
        f"{media_id}.{expires}.{flipped}",
    ):
        refused = httpx.get(f"{world.bot.url}/media/{forged}")
        assert refused.status_code == 403 and refused.json() == {"error": "forbidden"}, forged
    world.clock.advance(timedelta(hours=48, seconds=1))
    expired = httpx.get(listed[0]["url"])
    assert expired.status_code == 403 and expired.json() == {"error": "forbidden"}


def test_a_file_the_bot_cannot_read_is_refused_by_name_and_nothing_is_saved(world):
    world.client()
    world.fake.add_channel("C0DESIGN", "design", members=[CM_EN], bot_member=False)  # Nexo is not in it
    hidden = world.fake.add_file(CM_EN, "secret-plan.png", "image/png", PNG)
    message = world.fake.add_message("C0DESIGN", CM_EN, "Teaser", files=[hidden])
    ack, _ = send_for_approval(world, message)
    errors = ack.json()["errors"]
    assert "secret-plan.png" in errors[ids.FILES_KEEP] and "isn't shared with me" in errors[ids.FILES_KEEP]
    assert world.events() == [] and world.cards(REF) == []


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("deleted", "it was deleted"),
        ("access_denied", "doesn't let me read it"),
        ("too_large", "is too large (300 MB; at most 200 MB)"),
    ],
)
def test_deleted_withheld_or_too_large_files_are_refused_by_name(world, problem, expected):
    world.client()
    extra = {"access_denied": True} if problem == "access_denied" else {}
    if problem == "too_large":
        extra["size"] = 300 * 1024 * 1024
    message, (file_id,) = message_with_files(world.fake, "Teaser", ("teaser.png", "image/png", PNG), **extra)
    if problem == "deleted":
        world.fake.delete_file(file_id)
    ack, _ = send_for_approval(world, message)
    assert "teaser.png" in ack.json()["errors"][ids.FILES_KEEP]
    assert expected in ack.json()["errors"][ids.FILES_KEEP]
    assert world.events() == []


def test_a_type_the_networks_do_not_take_is_refused_naming_the_file_and_the_network(world):
    world.client()
    message, _ = message_with_files(world.fake, "Download our app", ("setup.exe", "application/x-msdownload", b"MZ"))
    ack, _ = send_for_approval(world, message)
    assert "“setup.exe” (application/x-msdownload) is not a picture or a video" in ack.json()["errors"][ids.FILES_KEEP]
    gif, _ = message_with_files(world.fake, "Dancing cat", ("cat.gif", "image/gif", b"GIF89a"))
    ack, _ = send_for_approval(world, gif, values={ids.NETWORKS: ["instagram"]})
    assert "Instagram does not take “cat.gif” (image/gif)" in ack.json()["errors"][ids.FILES_KEEP]
    assert world.events() == []


def test_the_shortcut_is_only_for_the_writers_own_message(world):
    world.client()
    message, _ = message_with_files(world.fake, "Someone else's", ("x.png", "image/png", PNG), by=LEAD)
    world.slack.shortcut(ids.SEND_FOR_APPROVAL, message, message["channel"], CM_EN)
    world.fake.wait_for(lambda: any("your own messages" in str(r["body"].get("text")) for r in world.fake.responses()))
    assert world.slack.last_view(CM_EN) is None


def test_a_revision_says_which_files_were_added_removed_or_replaced(world):
    world.client()
    message, _ = message_with_files(
        world.fake, "Summer", ("beach.png", "image/png", PNG), ("sunset.jpg", "image/jpeg", JPEG)
    )
    send_for_approval(world, message)
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.REQUEST_CHANGES)
    comment = world.fake.wait_for(lambda: world.slack.last_view(REF))
    world.submit(comment, REF, {ids.COMMENT: "Another beach photo, and no sunset"})
    notice = world.fake.wait_for(
        lambda: next((m for m in world.fake.dm_messages(CM_EN) if "asked for changes" in m["text"]), None)
    )
    world.settle()
    world.click(notice, CM_EN, ids.REVISE)
    form = world.fake.wait_for(
        lambda: (v := world.slack.last_view(CM_EN)) and v["callback_id"] == ids.DRAFT_MODAL and v
    )
    new_beach = world.fake.add_file(CM_EN, "beach.png", "image/png", PNG + b"v2")
    palm = world.fake.add_file(CM_EN, "palm.jpg", "image/jpeg", JPEG + b"palm")
    world.submit(form, CM_EN, {ids.FILES_KEEP: [], ids.FILES: [new_beach, palm]})
    revised = world.card(REF, "ACME-1", 2)
    shown = text_of(revised)
    assert "palm.jpg" in shown.split("Added:")[1].split("\n")[0]
    assert "sunset.jpg" in shown.split("Removed:")[1].split("\n")[0]
    assert "beach.png" in shown.split("Replaced:")[1].split("\n")[0]
    assert [b["title"]["text"] for b in image_blocks(revised)] == ["beach.png", "palm.jpg"]
    with world.db.sessionmaker() as s:
        v2 = [
            r.file_id
            for r in s.scalars(select(DraftMedia).where(DraftMedia.version == 2).order_by(DraftMedia.position))
        ]
    assert v2 == [new_beach, palm]


def test_a_refusal_is_in_the_writers_language(world):
    from tests.support.people import CM

    world.client()
    message, _ = message_with_files(world.fake, "Descarga la app", ("setup.zip", "application/zip", b"PK"), by=CM)
    ack, _ = send_for_approval(world, message, by=CM)
    assert "«setup.zip» (application/zip) no es una imagen ni un vídeo" in ack.json()["errors"][ids.FILES_KEEP]
    assert world.events() == []
