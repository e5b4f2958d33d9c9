"""Each social network's rules for a post, in one table, and the check a draft must pass for each target.

Every number carries where it came from (``sources``), so updating a limit is one edit here. Where the
network's own documentation could not be reached, the source says so ("unverified", or "third party"),
and the figure is the long-standing one publishing tools apply.

Counting is what each network counts:

- ``x``: X's weighted length, as twitter-text's configuration v3 defines it (``x_weighted_length``):
  after NFC normalization, code points in the ranges below weigh 1, every other code point 2 (most CJK
  and emoji), an emoji sequence (ZWJ, skin tone, flag, keycap) weighs 2 however many code points it
  takes, and every URL weighs 23 (the t.co link that replaces it). Implemented here, with the standard
  library, rather than with the ``twitter-text-parser`` package (one release, 2023, unmaintained):
  the rules are a dozen lines, and the URL detection is simpler than twitter-text's (links with a
  scheme, ``www.``, or a bare domain under a common top-level domain).
- ``utf16``: UTF-16 code units (TikTok's API counts "UTF-16 runes": an emoji outside the BMP is 2).
- ``graphemes``: what a reader sees as one character (Bluesky counts graphemes).
- ``chars``: Unicode code points (Python's ``len``).

Media links count as media items (images or videos), whatever they point to; Slack files will count the
same way when drafts carry them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.errors import UserError
from bot.i18n import N_


@dataclass(frozen=True)
class Network:
    """One network's limits on a post (None: no limit Nexo checks)."""

    name: str  # the canonical name stored on versions
    label: str
    aliases: tuple[str, ...] = ()
    max_chars: int | None = None
    counting: str = "chars"  # chars | utf16 | graphemes | x
    max_hashtags: int | None = None
    max_media: int | None = None
    sources: dict[str, str] = field(default_factory=dict)  # limit -> where the number comes from


TWITTER_TEXT_V3 = "https://raw.githubusercontent.com/twitter/twitter-text/master/config/v3.json"

# In the order forms show them (at most 10: a checkbox group's limit).
TABLE: tuple[Network, ...] = (
    Network(
        "instagram",
        "Instagram",
        ("ig", "insta"),
        max_chars=2200,
        max_hashtags=5,
        max_media=10,
        sources={
            "max_chars": "https://ayrshare.com/apis/post/social-networks/instagram (third party; Meta's content "
            "publishing guide https://developers.facebook.com/docs/instagram-platform/content-publishing/)",
            "max_hashtags": "5 since Instagram's December 2025 change (was 30): "
            "http://routenote.com/blog/Instagram-hashtags, "
            "https://en.shiftdelete.net/an-era-is-ending-on-instagram-hashtag-limit-imposed (news; "
            "not in Meta's API reference)",
            "max_media": "carousel of up to 10: https://ayrshare.com/apis/post/social-networks/instagram (third party)",
        },
    ),
    Network(
        "facebook",
        "Facebook",
        ("fb",),
        max_chars=63_206,
        sources={
            "max_chars": "unverified in Meta's documentation; long-standing figure, e.g. "
            "https://ferryman.io/character-limits/facebook",
        },
    ),
    Network(
        "x",
        "X",
        ("twitter",),
        max_chars=280,
        counting="x",
        max_media=4,
        sources={
            "max_chars": f"{TWITTER_TEXT_V3} (maxWeightedTweetLength 280, transformedURLLength 23)",
            "max_media": "unverified in X's API reference (4 images per post, as the issue says; "
            "https://community.n8n.io/t/how-to-post-tweets-with-multiple-media-files-using-x-formerly-twitter/95415)",
        },
    ),
    Network(
        "linkedin",
        "LinkedIn",
        ("li",),
        max_chars=3000,
        sources={
            "max_chars": "https://www.ayrshare.com/docs/apis/post/social-networks/linkedin.md, "
            "https://docs.postsyncer.com/platforms/linkedin (third party)",
        },
    ),
    Network(
        "tiktok",
        "TikTok",
        ("tt",),
        max_chars=2200,
        counting="utf16",
        max_media=35,
        sources={
            "max_chars": "video title 2200 UTF-16 runes: "
            "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post "
            "(the app takes 4000, and so does a photo post's description: "
            "https://developers.tiktok.com/doc/content-posting-api-reference-photo-post; a publishing tool "
            "posts through the API, so the video figure is the one that holds for every post)",
            "max_media": "photo post of up to 35: https://docs.postsyncer.com/platforms/tiktok (third party)",
        },
    ),
    Network(
        "youtube",
        "YouTube",
        ("yt",),
        max_chars=5000,
        sources={
            "max_chars": "unverified (video description, 5000 characters)",
        },
    ),
    Network(
        "threads",
        "Threads",
        (),
        max_chars=500,
        sources={
            "max_chars": "https://ferryman.io/character-limits/facebook (third party)",
        },
    ),
    Network(
        "pinterest",
        "Pinterest",
        (),
        max_chars=500,
        sources={
            "max_chars": "unverified (pin description, 500 characters)",
        },
    ),
    Network(
        "bluesky",
        "Bluesky",
        ("bsky",),
        max_chars=300,
        counting="graphemes",
        max_media=4,
        sources={
            "max_chars": "300 graphemes: https://ferryman.io/character-limits/facebook (third party)",
            "max_media": "unverified (4 images)",
        },
    ),
)

BY_NAME: dict[str, Network] = {n.name: n for n in TABLE}
NAMES: tuple[str, ...] = tuple(n.name for n in TABLE)
LABELS: dict[str, str] = {n.name: n.label for n in TABLE}
ALIASES: dict[str, str] = {alias: n.name for n in TABLE for alias in n.aliases}


def canonical(word: str) -> str | None:
    """The network a typed name or alias means (case-insensitive), or None."""
    word = word.strip().lower()
    name = ALIASES.get(word, word)
    return name if name in BY_NAME else None


def label(name: str) -> str:
    return LABELS.get(name, name)


# -- counting ---------------------------------------------------------------------------------------------
# twitter-text v3: code points in these ranges weigh 100, every other 200; the length is the sum / 100.
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
X_URL_LENGTH = 23
_TLDS = (
    "com|net|org|info|biz|io|co|app|dev|me|tv|ly|gl|ai|shop|store|online|site|blog|news|es|mx|ar|cl|"
    "pe|uy|ve|ec|bo|py|cr|pa|do|gt|hn|sv|ni|cu|pr|us|uk|eu|de|fr|it|pt|br|nl|be|ch|at|ie|ca|au|cat|gal|eus"
)
_URL = re.compile(
    r"(?:https?://[^\s<>\"]+"
    r"|(?<![@\w.])www\.[^\s<>\"]+"
    rf"|(?<![@\w.\-/])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:{_TLDS})\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)]}'\"¡¿…"
_HASHTAG = re.compile(r"(?<![\w&#])[#＃](\w+)")
_ZWJ, _KEYCAP = "\u200d", "\u20e3"


def urls(text: str) -> list[tuple[int, int]]:
    """(start, end) of each link in ``text``, trailing punctuation left out, as X reads them."""
    spans = []
    for match in _URL.finditer(text):
        end = match.end()
        while end > match.start() and text[end - 1] in _URL_TRAILING:
            end -= 1
        spans.append((match.start(), end))
    return spans


def _extends_cluster(ch: str) -> bool:
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or ch == _KEYCAP
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def clusters(text: str) -> list[str]:
    """``text`` split into what reads as one character: a base with its combining marks, variation
    selectors, skin tones and tags, emoji joined by ZWJ, and flags (pairs of regional indicators).
    A simplification of Unicode's grapheme clusters (UAX #29) that covers the emoji sequences."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if _is_regional(text[i]) and j < n and _is_regional(text[j]):
            j += 1
        while j < n:
            if _extends_cluster(text[j]):
                j += 1
            elif text[j] == _ZWJ and j + 1 < n:
                j += 2
            else:
                break
        out.append(text[i:j])
        i = j
    return out


def _is_emoji_sequence(cluster: str) -> bool:
    first = ord(cluster[0])
    return len(cluster) > 1 and (
        first >= 0x1F000
        or 0x2000 <= first <= 0x3300
        or cluster[0].isdigit()
        or cluster[0] in "#*"
        or _ZWJ in cluster
        or "\ufe0f" in cluster
    )


def _x_weight(cluster: str) -> int:
    if _is_emoji_sequence(cluster):
        return 2
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in _X_LIGHT) else 2 for ch in cluster)


def x_weighted_length(text: str) -> int:
    """The length X counts against its 280 (see the module's docstring)."""
    text = unicodedata.normalize("NFC", text)
    total, at = 0, 0
    for start, end in urls(text):
        total += sum(_x_weight(c) for c in clusters(text[at:start])) + X_URL_LENGTH
        at = end
    return total + sum(_x_weight(c) for c in clusters(text[at:]))


def length(network: Network, text: str) -> int:
    """``text``'s length as ``network`` counts it."""
    if network.counting == "x":
        return x_weighted_length(text)
    if network.counting == "utf16":
        return len(text.encode("utf-16-le")) // 2
    if network.counting == "graphemes":
        return len(clusters(unicodedata.normalize("NFC", text)))
    return len(text)


def hashtags(text: str) -> int:
    return len(_HASHTAG.findall(text))


# -- the check ----------------------------------------------------------------------------------------------
def problems(network: Network, text: str, media: int) -> list[UserError]:
    """What in a post ``network`` would refuse, each naming the network and giving the counts."""
    found: list[UserError] = []
    if network.max_chars is not None and (count := length(network, text)) > network.max_chars:
        found.append(
            UserError(
                N_("{network}: {count} of {limit} characters"),
                network=network.label,
                count=count,
                limit=network.max_chars,
            )
        )
    if network.max_hashtags is not None and (count := hashtags(text)) > network.max_hashtags:
        found.append(
            UserError(
                N_("{network}: {count} of {limit} hashtags"),
                network=network.label,
                count=count,
                limit=network.max_hashtags,
            )
        )
    if network.max_media is not None and media > network.max_media:
        found.append(
            UserError(
                N_("{network}: {count} of {limit} images or videos"),
                network=network.label,
                count=media,
                limit=network.max_media,
            )
        )
    return found


def check_fits(text: str, names: list[str], *, media: int) -> None:
    """Refuse (a :class:`UserError` on the text field) a post that some target network would not take."""
    found = [p for name in names if name in BY_NAME for p in problems(BY_NAME[name], text, media)]
    if found:
        raise UserError(
            N_(
                "This post does not fit every network it is for: {problems}. Nothing was saved: "
                "shorten it, or choose other networks."
            ),
            field="text",
            problems=found,
        )
