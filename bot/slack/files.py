"""Slack files, read with the bot token: their metadata (``files.info``) and their bytes.

A file's ``url_private_download`` needs ``Authorization: Bearer <bot token>``. That header goes only
to Slack's own file host (or the Slack API host the client is configured with: the fake in tests), so
the token never reaches anyone else. Nothing here makes a file public.

Errors ``files.info`` answers, and what they mean for a draft (docs/slack-files.md):
``file_not_found`` (the bot cannot see it: not shared with it, or no such file), ``file_deleted``,
``access_denied`` (a Slack Connect file its owner's organization withholds).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = ("files.slack.com",)
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CHUNK = 64 * 1024
UNREADABLE = ("file_not_found", "file_deleted", "access_denied")


@dataclass(frozen=True)
class SlackFile:
    """What Nexo keeps of a file's metadata."""

    id: str
    name: str
    mimetype: str
    size: int
    user: str
    duration_ms: int | None = None


@dataclass(frozen=True)
class FileLookup:
    """One file asked for: its metadata, or why the bot cannot read it (an error of :data:`UNREADABLE`)."""

    id: str
    name: str  # what the person was shown (the payload's name) when Slack tells nothing
    file: SlackFile | None = None
    error: str | None = None


class FileUnavailable(Exception):
    """The file's bytes could not be read (``reason``: a Slack error or ``download_failed``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def from_object(obj: dict[str, Any]) -> SlackFile:
    duration = obj.get("duration_ms")
    return SlackFile(
        id=str(obj.get("id") or ""),
        name=str(obj.get("name") or obj.get("title") or "file")[:255],
        mimetype=str(obj.get("mimetype") or "application/octet-stream")[:120],
        size=int(obj.get("size") or 0),
        user=str(obj.get("user") or ""),
        duration_ms=int(duration) if isinstance(duration, (int, float)) else None,
    )


def look_up(client: WebClient, refs: list[tuple[str, str]]) -> list[FileLookup]:
    """``files.info`` for each ``(file id, shown name)``: never raises for a file the bot cannot read."""
    found = []
    for file_id, shown in refs:
        try:
            obj = client.files_info(file=file_id)["file"]
        except SlackApiError as e:
            error = e.response.get("error") if isinstance(e.response.data, dict) else None
            found.append(FileLookup(file_id, shown, error=error if error in UNREADABLE else "file_not_found"))
            continue
        found.append(FileLookup(file_id, shown, file=from_object(obj)))
    return found


def _trusted(client: WebClient, url: str) -> bool:
    host = urlsplit(url).hostname or ""
    api_host = urlsplit(client.base_url).hostname or ""
    return (urlsplit(url).scheme == "https" and host in SLACK_FILE_HOSTS) or (bool(api_host) and host == api_host)


def download_url(client: WebClient, file_id: str) -> tuple[dict[str, Any], str]:
    """The file object and its ``url_private_download`` (FileUnavailable when the bot cannot read it)."""
    try:
        obj = client.files_info(file=file_id)["file"]
    except SlackApiError as e:
        error = e.response.get("error") if isinstance(e.response.data, dict) else None
        raise FileUnavailable(str(error or "file_not_found")) from None
    url = str(obj.get("url_private_download") or obj.get("url_private") or "")
    if not url or not _trusted(client, url):
        raise FileUnavailable("untrusted_file_host")
    return obj, url


@contextlib.contextmanager
def open_stream(client: WebClient, file_id: str) -> Iterator[tuple[dict[str, Any], httpx.Response]]:
    """The file object and a streaming response of its bytes (closed on exit)."""
    obj, url = download_url(client, file_id)
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True) as http:  # httpx drops the token cross-host
        try:
            with http.stream("GET", url, headers={"Authorization": f"Bearer {client.token}"}) as response:
                if response.status_code != 200:
                    raise FileUnavailable(f"http_{response.status_code}")
                yield obj, response
        except httpx.HTTPError as e:
            raise FileUnavailable("download_failed") from e


def read_bytes(client: WebClient, file_id: str, *, limit: int) -> tuple[dict[str, Any], bytes]:
    """The whole file (at most ``limit`` bytes, else FileUnavailable("too_large"))."""
    with open_stream(client, file_id) as (obj, response):
        data = bytearray()
        for chunk in response.iter_bytes(CHUNK):
            data += chunk
            if len(data) > limit:
                raise FileUnavailable("too_large")
        return obj, bytes(data)
