"""Each network's limits, checked when a draft is written or revised: the refusal names the network and
gives the counts, in the author's language, and nothing is saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.approvals import ids, networks
from bot.approvals.models import Draft, DraftVersion
from tests.support.people import CM, REF
from tests.support.world import CM_EN, buttons


def drafts_saved(world) -> int:
    with world.db.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(Draft)) or 0


def versions_saved(world) -> int:
    with world.db.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(DraftVersion)) or 0


# -- what each network counts, at its boundary (pure: the table and its counting) -------------------------------
@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("x", 280),
        ("instagram", 2200),
        ("linkedin", 3000),
        ("facebook", 63_206),
        ("tiktok", 2200),
        ("threads", 500),
        ("bluesky", 300),
    ],
)
def test_each_character_limit_passes_at_the_limit_and_refuses_one_more(name, limit):
    network = networks.BY_NAME[name]
    assert network.max_chars == limit and network.sources["max_chars"]
    assert networks.problems(network, "a" * limit, 0) == []
    [problem] = networks.problems(network, "a" * (limit + 1), 0)
    assert problem.render(str) == f"{network.label}: {limit + 1} of {limit} characters"


def test_x_counts_what_x_counts():
    assert networks.x_weighted_length("a" * 280) == 280
    assert networks.x_weighted_length("日本語") == 6  # CJK weighs 2
    assert networks.x_weighted_length("é") == 1 and networks.x_weighted_length("e\u0301") == 1  # NFC first
    assert networks.x_weighted_length("👍") == 2 and networks.x_weighted_length("👍🏽") == 2
    assert networks.x_weighted_length("👨‍👩‍👧") == 2 and networks.x_weighted_length("🇪🇸") == 2  # one emoji each
    assert networks.x_weighted_length("https://example.com/" + "p" * 200) == 23  # any URL weighs 23
    assert networks.x_weighted_length("see acme.com.") == len("see ") + 23 + 1  # a bare domain too
    assert networks.x_weighted_length("ana@acme.com") == 12  # an e-mail address is not a link
    text = "x" * 257 + " https://acme.example/" + "q" * 100  # 257 + 1 + 23 = 281
    assert networks.problems(networks.BY_NAME["x"], text, 0)[0].render(str) == "X: 281 of 280 characters"


def test_tiktok_counts_utf16_and_bluesky_graphemes():
    assert networks.length(networks.BY_NAME["tiktok"], "😀" * 1100) == 2200
    assert networks.length(networks.BY_NAME["bluesky"], "👨‍👩‍👧" * 300) == 300


def test_hashtags_and_media_at_their_limits():
    instagram, x = networks.BY_NAME["instagram"], networks.BY_NAME["x"]
    five = " ".join(f"#tag{i}" for i in range(5))
    assert networks.problems(instagram, five, 10) == []
    assert [p.render(str) for p in networks.problems(instagram, five + " #sixth", 11)] == [
        "Instagram: 6 of 5 hashtags",
        "Instagram: 11 of 10 images or videos",
    ]
    assert networks.problems(x, "hi", 4) == []
    assert [p.render(str) for p in networks.problems(x, "hi", 5)] == ["X: 5 of 4 images or videos"]


def test_names_and_aliases():
    assert networks.canonical("Twitter") == "x" and networks.canonical("IG") == "instagram"
    assert networks.canonical("myspace") is None
    assert all(n.sources for n in networks.TABLE)


# -- through Slack -------------------------------------------------------------------------------------------
def test_x_at_280_is_sent_and_281_is_refused_naming_the_network(world):
    world.client()
    reply = world.draft("a" * 280, options="network:twitter")
    assert "ACME-1 created" in reply
    world.card(REF, "ACME-1")
    reply = world.draft("b" * 281, options="network:instagram,x")
    assert reply == (
        "This post does not fit every network it is for: X: 281 of 280 characters. Nothing was saved: "
        "shorten it, or choose other networks."
    )
    assert drafts_saved(world) == 1


def test_every_network_targeted_is_checked_in_spanish(world):
    world.client()
    tags = " ".join(f"#t{i}" for i in range(6))
    reply = world.draft(
        "c" * 300 + " " + tags,
        by=CM,
        options="network:instagram,linkedin,x "
        "media:https://a.example/1.jpg,https://a.example/2.jpg,https://a.example/3.jpg,"
        "https://a.example/4.jpg,https://a.example/5.jpg",
    )
    assert reply == (
        "Esta publicación no cabe en todas sus redes: Instagram: 6 de 5 hashtags; X: 324 de 280 "
        "caracteres; X: 5 de 4 imágenes o vídeos. No se ha guardado nada: acórtala o elige otras redes."
    )
    assert drafts_saved(world) == 0


def test_an_unknown_network_is_refused_naming_it_and_the_known_ones(world):
    world.client()
    reply = world.draft("Hello", by=CM, options="network:instagram,myspace")
    assert "myspace" in reply and "instagram, facebook, x, linkedin, tiktok" in reply
    assert "no conozco la red “myspace”" in reply
    assert drafts_saved(world) == 0


def test_the_form_points_at_the_text(world):
    world.client()
    world.command("draft Acme", CM_EN)
    form = world.fake.wait_for(lambda: world.slack.last_view(CM_EN))
    r = world.submit(form, CM_EN, values={ids.TEXT: "d" * 281, ids.NETWORKS: ["x"]})
    answer = r.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        ids.TEXT: "This post does not fit every network it is for: X: 281 of 280 "
        "characters. Nothing was saved: shorten it, or choose other networks."
    }
    assert drafts_saved(world) == 0
    r = world.submit(form, CM_EN, values={ids.TEXT: "d" * 280, ids.NETWORKS: ["x"]})
    assert not r.content, r.text
    world.card(REF, "ACME-1")


def test_a_revision_is_checked_too(world):
    world.client()
    world.draft("Short and sweet", options="network:x")
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.REQUEST_CHANGES)
    comment = world.fake.wait_for(lambda: world.slack.last_view(REF))
    world.submit(comment, REF, values={ids.COMMENT: "Say more"})
    world.fake.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [ids.APPROVE])
    notice = world.fake.wait_for(
        lambda: next((m for m in world.fake.dm_messages(CM_EN) if "asked for changes" in m["text"]), None)
    )
    world.click(notice, CM_EN, ids.REVISE)
    form = world.fake.wait_for(lambda: world.slack.last_view(CM_EN))
    r = world.submit(form, CM_EN, values={ids.TEXT: "日本" * 141, ids.NETWORKS: ["x"]})
    assert r.json()["errors"][ids.TEXT].startswith(
        "This post does not fit every network it is for: X: 564 of 280 characters."
    )
    assert versions_saved(world) == 1
