"""Sending owed notices to Slack: claim, send, record ``ts``, or schedule a retry.

Outcomes of one try:
- Slack took it: DELIVERED with the message's ``channel``/``ts`` (later edits use them).
- Slack answered with an error: PENDING again after a backoff (429 waits
  ``Retry-After``), or FAILED for errors that no retry can fix.
- Slack refused a DM to a person for good (Slack Connect: they are in another organization and share
  no channel with the bot): the ``detours`` (:mod:`bot.plans.detours`) say where else it goes, the
  client's channel with a mention; the notice records the detour (``payload["detour"]``) and is sent
  there, once. With nowhere else to go it is FAILED and the detours tell the account lead.
- No answer (timeout, connection lost, process killed): the outcome is unknown,
  so the row stays SENDING. Before trying such a post again the sender looks
  for it in the conversation's recent history by the ``nexo_notice`` metadata
  it carries, so a message Slack did receive is not posted twice.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import object_session

from bot.blockkit import section
from bot.clock import Clock
from bot.db import Database
from bot.delivery import outbox, shares
from bot.delivery.models import NoticeKind, NoticeStatus, OutboxNotice
from bot.delivery.wakes import WakeQueue
from bot.slack import files

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.metrics import Metrics
    from bot.plans.detours import Detour

log = logging.getLogger(__name__)

METADATA_EVENT = "nexo_notice"
# Errors no retry can fix: the notice is marked FAILED and logged loudly.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "user_not_found",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_metadata_format",
        "used_url",
        "expired_url",
        "no_text",
        "invalid_blocks_format",
        "account_inactive",
        "user_disabled",
        "not_allowed",
        "render_failed",
        "invalid_user_combination",
        "file_not_found",
        "file_deleted",
        "access_denied",
        "too_large",
        "untrusted_file_host",
    }
)
# How Slack refuses a DM to a person for good (their user id as the channel, or the DM itself).
DM_REFUSED = frozenset(
    {
        "channel_not_found",
        "invalid_user_combination",
        "cannot_dm_bot",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "is_archived",
        "not_in_channel",
    }
)
MESSAGE_BLOCKS_MAX = 50
# The largest file the outbox copies into a conversation: slack_sdk holds an upload in memory.
COPY_MAX_BYTES = 200 * 1024 * 1024


class Detours(Protocol):
    """Where a refused DM goes instead (:class:`bot.plans.detours.ClientChannelDetours`)."""

    def channel_for(self, session: Session, user_id: str) -> Detour | None: ...

    def undeliverable(self, session: Session, user_id: str, *, now: datetime) -> bool: ...


# Draws the bytes of an upload from its stored arguments (see ``outbox.enqueue_upload``).
Renderer = Callable[[dict[str, Any]], bytes]


@dataclass(frozen=True)
class SendResult:
    ok: bool
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None
    unknown: bool = False  # no answer: Slack may or may not have it
    files: tuple[dict[str, Any], ...] = ()  # an upload's files as Slack took them (id, permalink)

    @property
    def permanent(self) -> bool:
        return not self.ok and not self.unknown and self.error in PERMANENT_ERRORS


class Deliverer:
    """Delivers outbox notices; safe to run in many threads and processes at once."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        clock: Clock,
        *,
        threads: int = 4,
        renderers: Mapping[str, Renderer] | None = None,
        metrics: Metrics | None = None,
        detours: Detours | None = None,
    ) -> None:
        self.db = db
        self.detours = detours
        self.metrics = metrics
        self.client = client
        self.clock = clock
        self.renderers = dict(renderers or {})
        self._wakes = WakeQueue(self._deliver_or_sweep, threads=threads, name="nexo-deliver")

    # -- entry points ---------------------------------------------------------------------------
    def kick(self, ids: list[int]) -> None:
        """Deliver freshly committed notices now, in order, off the caller's thread."""
        self._wakes.wake(list(ids))

    def wake(self, ids: list[int] | None) -> None:
        """Deliver ``ids`` now, or (None) everything due, off the caller's thread (see ``handoff``)."""
        self._wakes.wake(ids)

    def _deliver_or_sweep(self, ids: list[int] | None) -> None:
        if ids:
            self._deliver_in_order(ids)
        else:
            self.sweep()

    def sweep(self, *, limit: int = 200) -> int:
        """Deliver everything owed now (the scheduler's safety net). Returns how many were sent.

        Keeps going while it makes progress: delivering a message can unblock the
        next one in its conversation (or an edit of it) within the same sweep.
        """
        sent = 0
        while True:
            with self.db.transaction() as session:
                ids = outbox.due_notice_ids(session, now=self.clock.now(), limit=limit)
            if not ids:
                return sent
            progressed = self._deliver_in_order(ids)
            sent += progressed
            if progressed == 0:
                return sent

    def close(self) -> None:
        self._wakes.close()

    # -- one notice -------------------------------------------------------------------------------
    def _deliver_in_order(self, ids: list[int]) -> int:
        delivered = 0
        for notice_id in ids:
            try:
                delivered += self.deliver(notice_id)
            except Exception:
                log.exception("delivery of notice %s crashed; the sweep will retry it", notice_id)
        return delivered

    def deliver(self, notice_id: int) -> bool:
        """Try to deliver one notice. True when it is delivered by this call."""
        now = self.clock.now()
        with self.db.transaction() as session:
            previous = session.get(OutboxNotice, notice_id)
            if previous is None:
                return False
            outcome_unknown = previous.status == NoticeStatus.SENDING
            notice = outbox.claim(session, notice_id, now=now)
            if notice is None:
                return False
            notice.status = NoticeStatus.SENDING
            target = session.get(OutboxNotice, notice.target_id) if notice.target_id else None
            if target is not None and target.status == NoticeStatus.FAILED:
                self._finish(notice, SendResult(ok=False, error="target_failed"), now)
                return False
            payload = dict(notice.payload)
            if notice.kind in (NoticeKind.POST, NoticeKind.UPDATE) and shares.needs_resolving(payload.get("blocks")):
                payload["blocks"] = shares.resolve(session, notice.conversation, payload["blocks"])
            job = _Job(
                notice.id,
                notice.kind,
                payload,
                notice.attempts,
                target.channel if target else None,
                target.ts if target else None,
            )

        result = None
        if outcome_unknown and job.kind in (NoticeKind.POST, NoticeKind.UPLOAD):
            result = self._find_posted(job)
        if result is None:
            result = self._send(job)
        refused_dm = self._dm_refused(job, result)
        if refused_dm:
            job, result = self._detour(job, result)

        with self.db.transaction() as session:
            notice = session.get(OutboxNotice, job.id)
            assert notice is not None
            if "detour" in job.payload and "detour" not in notice.payload:
                notice.payload = dict(job.payload)  # recorded: a retry, and whoever reads the outbox, see it
            if refused_dm and result.permanent and self.detours is not None:
                self.detours.undeliverable(session, job.payload["to"], now=self.clock.now())
            self._finish(notice, result, self.clock.now())
        return result.ok

    # -- a DM Slack refuses: the client's channel instead ------------------------------------------
    def _dm_refused(self, job: _Job, result: SendResult) -> bool:
        """A first refusal, for good, of a top-level post to a person (a DM)."""
        return (
            job.kind == NoticeKind.POST
            and result.permanent
            and result.error in DM_REFUSED
            and not job.target_ts
            and str(job.payload.get("to", ""))[:1] in ("U", "W")
            and "detour" not in job.payload
        )

    def _detour(self, job: _Job, refused: SendResult) -> tuple[_Job, SendResult]:
        """Post what Slack would not DM in the client's channel, after a mention; with no such channel,
        the refusal stands."""
        if self.detours is None:
            return job, refused
        with self.db.sessionmaker() as session:
            detour = self.detours.channel_for(session, job.payload["to"])
        if detour is None:
            return job, refused
        log.warning(
            "DM refused; posting in the client's channel",
            extra={"notice_id": job.id, "error": refused.error, "channel": detour.channel},
        )
        payload = {**job.payload, "detour": {"channel": detour.channel, "line": detour.line, "error": refused.error}}
        job = dataclasses.replace(job, payload=payload)
        return job, self._send(job)

    def _finish(self, notice: OutboxNotice, result: SendResult, now: Any) -> None:
        notice.claimed_until = None
        if result.ok:
            session = object_session(notice)
            if result.files and notice.payload.get("copies") and session is not None:
                shares.record_copies(session, notice, list(result.files), now)
            notice.status = NoticeStatus.DELIVERED
            notice.delivered_at = now
            notice.channel = result.channel or notice.channel
            notice.ts = result.ts or notice.ts
            notice.last_error = None
            self._observe_lag(notice, now)
            log.info(
                "notice delivered",
                extra={"notice_id": notice.id, "kind": str(notice.kind), "attempts": notice.attempts},
            )
            return
        notice.last_error = result.error
        if result.permanent or result.error == "target_failed":
            notice.status = NoticeStatus.FAILED
            log.error("notice refused by Slack for good", extra={"notice_id": notice.id, "error": result.error})
            return
        notice.status = NoticeStatus.SENDING if result.unknown else NoticeStatus.PENDING
        delay = result.retry_after if result.retry_after is not None else outbox.backoff_seconds(notice.attempts)
        notice.next_attempt_at = now + timedelta(seconds=delay)
        log.warning(
            "notice not delivered, will retry",
            extra={"notice_id": notice.id, "error": result.error, "retry_in_s": delay},
        )

    def _observe_lag(self, notice: OutboxNotice, accepted_at: datetime) -> None:
        """A chase step's notice carries its due instant (``outbox.enqueue_post(due=...)``): how late
        Slack took it is the reminder lag of ``/metrics``."""
        due = notice.payload.get("due")
        if self.metrics is None or not isinstance(due, dict):
            return
        try:
            due_at = datetime.fromisoformat(str(due["at"]))
        except (KeyError, ValueError):
            return
        self.metrics.observe_reminder_lag(str(due.get("step")), due_at, accepted_at)

    # -- Slack calls ------------------------------------------------------------------------------
    def _send(self, job: _Job) -> SendResult:
        p = job.payload
        try:
            if job.kind == NoticeKind.POST:
                kwargs: dict[str, Any] = {
                    "channel": p["to"],
                    "text": p["text"],
                    "blocks": p.get("blocks"),
                    "unfurl_links": False,
                    "unfurl_media": False,
                }
                if detour := p.get("detour"):
                    kwargs.update(_detoured(detour, p))
                if job.target_ts:
                    kwargs.update(channel=job.target_channel, thread_ts=job.target_ts)
                kwargs["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": job.id}}
                r = self.client.chat_postMessage(**kwargs)
                return SendResult(ok=True, channel=r.get("channel"), ts=r.get("ts"))
            if job.kind == NoticeKind.UPDATE:
                r = self.client.chat_update(
                    channel=job.target_channel or "",
                    ts=job.target_ts or "",
                    text=p["text"],
                    blocks=p.get("blocks") or [],
                )
                return SendResult(ok=True, channel=r.get("channel"), ts=r.get("ts"))
            if job.kind == NoticeKind.EPHEMERAL:
                r = self.client.chat_postEphemeral(
                    channel=p["channel"], user=p["user"], text=p["text"], blocks=p.get("blocks")
                )
                return SendResult(ok=True, channel=p["channel"], ts=r.get("message_ts"))
            if job.kind == NoticeKind.HOME:
                self.client.views_publish(user_id=p["user"], view=p["view"])
                return SendResult(ok=True)
            if job.kind == NoticeKind.RESPONSE:
                return self._send_response(p)
            if job.kind == NoticeKind.UPLOAD and "copies" in p:
                return self._share_copies(p)
            if job.kind == NoticeKind.UPLOAD:
                return self._upload(p)
        except SlackApiError as e:
            status = e.response.status_code
            retry_after = None
            if status == 429:
                retry_after = float(e.response.headers.get("Retry-After", e.response.headers.get("retry-after", 1)))
            error = e.response.get("error") if isinstance(e.response.data, dict) else f"http_{status}"
            return SendResult(ok=False, error=error or f"http_{status}", retry_after=retry_after)
        except files.FileUnavailable as e:  # the file to copy cannot be read: nothing was uploaded
            return SendResult(ok=False, error=e.reason)
        except (SlackClientError, OSError, TimeoutError) as e:
            return SendResult(ok=False, error=type(e).__name__, unknown=True)
        return SendResult(ok=False, error=f"unknown_kind_{job.kind}")

    def _send_response(self, p: dict[str, Any]) -> SendResult:
        webhook = WebhookClient(p["url"], timeout=self.client.timeout)
        body: dict[str, Any] = {"text": p["text"], "replace_original": p.get("replace_original", False)}
        if p.get("response_type"):
            body["response_type"] = p["response_type"]
        if p.get("blocks"):
            body["blocks"] = p["blocks"]
        r = webhook.send_dict(body)
        if 200 <= r.status_code < 300:
            return SendResult(ok=True)
        if r.status_code == 404:
            return SendResult(ok=False, error="expired_url")
        if r.status_code == 429:
            return SendResult(ok=False, error="ratelimited", retry_after=float(r.headers.get("Retry-After", 1)))
        return SendResult(ok=False, error=f"http_{r.status_code}")

    def _upload(self, p: dict[str, Any]) -> SendResult:
        data = self._render(p) if "render" in p else p["content"]
        if data is None:
            return SendResult(ok=False, error="render_failed")
        channel = p["to"]
        if channel.startswith(("U", "W")):
            channel = self.client.conversations_open(users=channel)["channel"]["id"]
        body = {"file": data} if isinstance(data, bytes) else {"content": data}
        self.client.files_upload_v2(
            channel=channel, filename=p["filename"], title=p["title"], initial_comment=p["comment"], **body
        )
        return SendResult(ok=True, channel=channel)

    def _share_copies(self, p: dict[str, Any]) -> SendResult:
        """Copies of Slack files (read with the bot token) shared in one conversation, in one upload
        (:mod:`bot.delivery.shares`)."""
        uploads = []
        for wanted in p["copies"]:
            _, data = files.read_bytes(self.client, wanted["file"], limit=COPY_MAX_BYTES)
            uploads.append({"file": data, "filename": wanted["name"], "title": wanted["title"]})
        channel = p["to"]
        if channel.startswith(("U", "W")):
            channel = self.client.conversations_open(users=channel)["channel"]["id"]
        r = self.client.files_upload_v2(channel=channel, initial_comment=p["comment"], file_uploads=uploads)
        shared = tuple({"id": f.get("id"), "permalink": f.get("permalink")} for f in r.get("files") or [])
        return SendResult(ok=True, channel=channel, files=shared)

    def _render(self, p: dict[str, Any]) -> bytes | None:
        """The picture an upload stored the arguments of; None if it cannot be drawn (a bug: logged)."""
        renderer = self.renderers.get(p["render"]["name"])
        try:
            return renderer(p["render"]["args"]) if renderer else None
        except Exception:
            log.exception("drawing an upload failed", extra={"file": p["filename"]})
            return None

    def _find_posted(self, job: _Job) -> SendResult | None:
        """Look for an earlier try of this post (or upload) in Slack; a found one counts as delivered.

        Posts carry their outbox id in message metadata; uploads can't, so an upload is
        recognised by its file name and title, which the caller makes unique (a timestamp)."""
        channel = job.target_channel or (job.payload.get("detour") or {}).get("channel") or job.payload["to"]
        try:
            if channel.startswith(("U", "W")):
                channel = self.client.conversations_open(users=channel)["channel"]["id"]
            if job.target_ts:
                r = self.client.conversations_replies(
                    channel=channel, ts=job.target_ts, limit=100, include_all_metadata=True
                )
            else:
                r = self.client.conversations_history(channel=channel, limit=100, include_all_metadata=True)
        except (SlackClientError, OSError):
            return None  # cannot tell; sending again is the lesser evil than losing it
        messages: list[dict[str, Any]] = r.get("messages") or []
        for message in messages:
            if job.kind == NoticeKind.UPLOAD:
                found = message.get("files") or []
                if any(
                    f.get("name") == job.payload["filename"] and f.get("title") == job.payload["title"] for f in found
                ):
                    log.info("upload found already shared", extra={"notice_id": job.id})
                    return SendResult(
                        ok=True,
                        channel=channel,
                        ts=message.get("ts"),
                        files=tuple({"id": f.get("id"), "permalink": f.get("permalink")} for f in found),
                    )
                continue
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT and meta.get("event_payload", {}).get("outbox_id") == job.id:
                log.info("notice found already posted", extra={"notice_id": job.id})
                return SendResult(ok=True, channel=channel, ts=message.get("ts"))
        return None


def _detoured(detour: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """A DM's post, moved to the client's channel: the mention line first (in the text too, for the
    notification), then the message as it was."""
    blocks = p.get("blocks") or []
    if blocks and len(blocks) < MESSAGE_BLOCKS_MAX:
        blocks = [section(detour["line"]), *blocks]
    return {"channel": detour["channel"], "text": f"{detour['line']}\n{p['text']}", "blocks": blocks or None}


@dataclass(frozen=True)
class _Job:
    id: int
    kind: NoticeKind
    payload: dict[str, Any]
    attempts: int
    target_channel: str | None
    target_ts: str | None
