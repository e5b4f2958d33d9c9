"""The stage the demo plays on: fake Slack, the real bot over HTTP, a movable clock, a transcript.

Every step is a signed HTTP request to Nexo's real endpoint (or a scheduler tick), and everything
printed is what the fake Slack received. The transcript is kept short without hiding anything that
happened: a card already shown is printed again only as its header and the lines that changed,
identical messages to several people are printed once with every recipient, and a message the
script marks ``brief`` is shown as one line.
"""

from __future__ import annotations

import contextlib
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import build_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db import Database, create_schema
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.demo.compact import Compactor, Entry, merge
from bot.devtools.local_server import LocalServer
from bot.fakeslack import FakeSlack, SlackRequests, render_blocks_as_text, render_view
from bot.fakeslack.scopes import manifest_scopes
from bot.i18n import N_, translator
from bot.jobs import run_tick
from bot.messages import HELP_TITLE
from bot.models import Base
from bot.web import make_wsgi_app

SIGNING_SECRET = "demo-signing-secret"
MADRID = ZoneInfo("Europe/Madrid")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


class Stage:
    def __init__(
        self,
        start: datetime,
        names: dict[str, str],
        *,
        language: str = "en",
        out: TextIO = sys.stdout,
        out_dir: Path | None = None,
    ) -> None:
        self.out = out
        self.language = language  # the client's plan language, and the agency's Slack locale
        self.t = translator(language)
        self.names = names
        self.out_dir = out_dir.resolve() if out_dir else None  # where the chart goes (None: a new temp dir)
        self.clock = FrozenClock(start)
        self._tmp = tempfile.TemporaryDirectory(prefix="nexo-demo-")
        self.fake = FakeSlack(bot_token="xoxb-demo", team_id="T_AGENCY", scopes=manifest_scopes()).start()
        db = Database(f"sqlite:///{Path(self._tmp.name) / 'demo.db'}")
        create_schema(db.engine, Base.metadata)
        settings = Settings(
            slack_bot_token="xoxb-demo",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.fake.api_url,
            database_url=db.url,
        )
        self.nexo = build_app(settings, db=db, clock=self.clock)
        self.server = LocalServer(make_wsgi_app(self.nexo)).start()
        self.slack = SlackRequests(self.server.url, SIGNING_SECRET, self.fake)
        self._seen_calls = 0
        self._seen_files = 0
        self.compact = Compactor(
            lambda n: self.t.ngettext("… {n} line as shown above", "… {n} lines as shown above", n)
        )
        self._replies = 0
        self._brief = False
        self._brief_to: set[str] = set()

    # -- narration --------------------------------------------------------------------------------
    def now_local(self) -> str:
        return self.day(self.clock.now()) + self.clock.now().astimezone(MADRID).strftime(" %H:%M")

    def day(self, when: datetime) -> str:
        days = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
        return self.t(days[when.astimezone(MADRID).weekday()])

    def scene(self, title: str) -> None:
        self.out.write(f"\n=== {title} ===\n")

    def say(self, who: str, what: str) -> None:
        what = re.sub(r"<[@#]([A-Z0-9]+)\|([^>]*)>", r"@\2", what)  # escaped mentions, as Slack shows them
        self.out.write(f"[{self.now_local()}] {self.names.get(who, who)}: {what}\n")

    def note(self, text: str) -> None:
        self.out.write(f"  ({text})\n")

    def clock_line(self, text: str) -> None:
        self.out.write(f"[{self.now_local()}] ⏰ {text}".rstrip() + "\n")

    def _show(self, header: str, lines: list[str]) -> None:
        lines = [line for line in lines if line.strip()]
        if len(lines) == 1 and header.endswith(":"):  # a one-line message goes on the header's line
            self.out.write(f"  {header} {lines[0].strip()}\n")
            return
        indented = "\n".join("      " + line for line in lines)
        self.out.write(f"  {header}\n{indented}\n" if indented else f"  {header}\n")

    def _lines(self, text: str, blocks: Any) -> list[str]:
        body = "\n".join(render_blocks_as_text(blocks)) if blocks else text
        return [line for line in self._names(body).splitlines() if line.strip() and not set(line) <= {"=", "-"}]

    def _names(self, text: str) -> str:
        text = _DATE.sub(r"\1", text)  # Slack renders dates; print the fallback
        text = _LINK.sub(r"\2", text)
        for uid, name in self.names.items():
            text = text.replace(f"<@{uid}>", "@" + name).replace(f"@{uid}", "@" + name)
        return text

    # -- acting -----------------------------------------------------------------------------------
    def command(self, user: str, text: str, channel: str = "C_AGENCY", *, brief: bool = False) -> dict[str, Any]:
        """``/nexo text`` typed by ``user``; ``brief``: show the reply in one line."""
        self.say(user, f"/nexo {text}")
        r = self.slack.command(text, user_id=user, channel_id=channel)
        body = r.json() if r.text else {}
        if body.get("text"):
            self._replies += 1
            blocks = body.get("blocks")
            header = next((self._lines("", [b])[0] for b in blocks or [] if b.get("type") == "header"), None)
            lines = (
                self.compact.message(
                    f"reply-to-{user}", str(self._replies), self._lines(body["text"], blocks), header, brief=brief
                )
                or []
            )
            self._show(self.t(N_("Nexo → {where} (only visible to them):"), where=self.names.get(user, user)), lines)
        self.settle()
        return body

    def click(self, user: str, message: dict[str, Any], action_id: str, value: str | None = None) -> None:
        _, button = self.slack.find_button(message, action_id=action_id, value=value)
        self.say(user, self.t(N_("clicks [{button}]"), button=button["text"]["text"]))
        self.slack.click(message, user_id=user, action_id=action_id, value=value)
        self.settle()

    def click_and_submit(
        self, user: str, message: dict[str, Any], action_id: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        """``user`` clicks a button that opens a form, fills it in with ``values`` and submits it."""
        _, button = self.slack.find_button(message, action_id=action_id)
        self.slack.click(message, user_id=user, action_id=action_id)
        self.nexo.wait_idle(15)
        for header, lines in self._new_entries():  # usually nothing: the form's opening is in the line below
            self._show(header, lines)
        return self.submit(user, values, clicked=button["text"]["text"])

    def post_with_image(self, user: str, text: str, name: str, data: bytes) -> dict[str, Any]:
        """``user`` writes ``text`` with an image attached, in their DM with Nexo (a message of theirs)."""
        file_id = self.fake.add_file(user, name, "image/png", data)
        self.say(user, self.t(N_("writes “{text}” with the image {name} attached"), text=text, name=name))
        return self.fake.add_message(self.fake.dm_channel(user), user, text, files=[file_id])

    def shortcut_and_submit(
        self, user: str, message: dict[str, Any], callback_id: str, label: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        """``user`` runs the message shortcut ``label`` on ``message``, fills in its form and submits it."""
        self.slack.shortcut(callback_id, message, message["channel"], user)
        self.nexo.wait_idle(15)
        for header, lines in self._new_entries():
            self._show(header, lines)
        return self.submit(user, values, clicked=label)

    def submit(self, user: str, values: dict[str, Any], *, brief: bool = False, clicked: str = "") -> dict[str, Any]:
        self.fake.wait_for(lambda: self.fake.open_views(user), timeout=15, message=f"no form open for {user}")
        view = self.fake.open_views(user)[-1]
        title = (view.get("title") or {}).get("text", "")
        self.say(
            user,
            self.t(N_("clicks [{button}], fills in the form “{title}” and submits it"), button=clicked, title=title)
            if clicked
            else self.t(N_("fills in the form “{title}” and submits it"), title=title),
        )
        self._brief = brief
        try:
            r = self.slack.submit_view(view, user, values)
            self.settle()
        finally:
            self._brief = False
        return r.json() if r.text else {}

    def open_home(self, user: str) -> None:
        """``user`` opens Nexo's Home tab (an ``app_home_opened`` event); print what Slack shows them,
        down to the list of commands (the same as ``/nexo help``)."""
        before = len(self.fake.home_views(user))
        self.say(user, self.t(N_("opens Nexo's Home tab")))
        self.slack.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D" + user})
        self.fake.wait_for(lambda: len(self.fake.home_views(user)) > before, timeout=15, message="no Home tab")
        self.settle()
        home = self.fake.home_views(user)[-1]
        shown = self._lines(render_view(home), None)
        help_title = self.t(HELP_TITLE).upper()
        if help_title in shown:
            shown = [*shown[: shown.index(help_title)], self.t(N_("(then the list of commands, as in /nexo help)"))]
        self._show(self.t(N_("Home tab of {name}:"), name=self.names.get(user, user)), self.compact.finish(shown))

    @contextlib.contextmanager
    def brief_to(self, *users: str) -> Iterator[None]:
        """Within this block, messages posted to these people's DMs are shown in one line."""
        self._brief_to = {self.fake.dm_channel(u) for u in users} | set(users)
        try:
            yield
        finally:
            self._brief_to = set()

    def wait(
        self,
        delta: timedelta,
        why: str = "",
        *,
        marks: Mapping[str, str] | None = None,
        step: timedelta = timedelta(minutes=5),
    ) -> None:
        """Move time forward in scheduler ticks, as a worker would.

        Whenever a tick makes Nexo send something, a clock line says when, with the script's label
        for that local time (``marks``: ``"Mon 12:00"`` -> what is due then). ``why``: a line saying
        what the people do meanwhile (none: the wait itself is not shown).
        """
        end = self.clock.now() + delta
        if why:
            self.out.write(f"  ... {why} ({_span(delta)}) ...\n")
        marks = dict(marks or {})
        while self.clock.now() < end:
            self.clock.advance(min(step, end - self.clock.now()))
            run_tick(self.nexo.ctx)
            self.settle(quiet=0.0, clock=marks.pop(self.now_local(), ""))
        if marks:  # the script's story no longer matches what Nexo does
            raise AssertionError(
                f"nothing happened at {', '.join(marks)}, where the demo expects: " + "; ".join(marks.values())
            )

    def settle(self, timeout: float = 15.0, quiet: float = 0.3, clock: str | None = None) -> None:
        """Wait until the bot has finished reacting, then print what Slack received.

        Listeners run after the ack, so "done" means: nothing due is owed in the outbox and
        Slack has seen no new call for ``quiet`` seconds (0 for clock ticks, which run inline).
        ``clock``: a label for a clock line printed first if anything arrived (None: no line).
        """
        self.nexo.wait_idle(timeout)
        deadline = time.monotonic() + timeout
        last: tuple[int, bool] | None = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            with self.nexo.ctx.db.sessionmaker() as s:
                owed = (
                    s.scalar(
                        select(OutboxNotice.id)
                        .where(
                            OutboxNotice.status.in_((NoticeStatus.PENDING, NoticeStatus.SENDING)),
                            OutboxNotice.next_attempt_at <= self.clock.now(),
                        )
                        .limit(1)
                    )
                    is not None
                )
            if owed:
                self.nexo.ctx.deliverer.sweep()
            state = (len(self.fake.calls()), owed)
            if state != last:
                last, since = state, time.monotonic()
            elif not owed and time.monotonic() - since >= quiet:
                break
            time.sleep(0.05)
        entries = self._new_entries()
        if entries and clock is not None:
            self.clock_line(clock)
        for header, lines in entries:
            self._show(header, lines)

    # -- what Slack received, compactly (see bot.demo.compact) ----------------------------------
    def _new_entries(self) -> list[tuple[str, list[str]]]:
        calls = self.fake.calls()
        entries: list[Entry] = []
        for call in calls[self._seen_calls :]:
            p = call.params
            if call.status != 200 or not isinstance(call.response, dict) or not call.response.get("ok"):
                continue
            if call.method in ("chat.postMessage", "chat.update"):
                channel = str(call.response.get("channel") or p.get("channel", ""))
                ts = str(call.response.get("ts") or p.get("ts", ""))
                blocks = p.get("blocks")
                header = next((self._lines("", [b])[0] for b in blocks or [] if b.get("type") == "header"), None)
                lines = self.compact.message(
                    channel,
                    ts,
                    self._lines(p.get("text", ""), blocks),
                    header,
                    brief=self._brief or channel in self._brief_to,
                )
                if lines is not None:  # None: an edit that changes nothing a reader would see
                    verb = "post" if call.method == "chat.postMessage" else "update"
                    entries.append((verb, self._who(p.get("channel", "")), lines))
            elif call.method == "chat.postEphemeral":
                user = str(p.get("user") or "")
                entries.append(
                    (
                        "ephemeral",
                        self.names.get(user, user),
                        self.compact.finish(self._lines(p.get("text", ""), p.get("blocks"))),
                    )
                )
            elif call.method == "files.completeUploadExternal":
                entries.extend(("file", where, lines) for where, lines in self._write_uploads())
        self._seen_calls = len(calls)
        return [(self._header(verb, people, n), lines) for verb, people, lines, n in merge(entries)]

    def _write_uploads(self) -> list[tuple[str, list[str]]]:
        """Write each file Nexo uploaded to the output directory; say where."""
        files = self.fake.uploaded_files()
        shown = []
        for upload in files[self._seen_files :]:
            if self.out_dir is None:
                self.out_dir = Path(tempfile.mkdtemp(prefix="nexo-demo-files-"))
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / Path(upload["name"]).name
            path.write_bytes(upload["content"])
            where = ", ".join(self._who(c) for c in upload.get("channels") or [])
            kind = self.t(N_("a PNG image")) if upload["content"].startswith(PNG_SIGNATURE) else upload["mimetype"]
            shown.append(
                (
                    where,
                    [
                        f"📎 {upload['title']} "
                        + self.t(
                            N_("({kind}, {size} bytes; written to {path})"),
                            kind=kind,
                            size=len(upload["content"]),
                            path=path,
                        )
                    ],
                )
            )
        self._seen_files = len(files)
        return shown

    def _header(self, verb: str, people: list[str], messages: int) -> str:
        where = self._place(people)
        if verb == "update" and messages > len(people):
            return self.t(N_("Nexo updates {n} of its messages in {where}:"), n=messages, where=where)
        headers = {
            "post": N_("Nexo → {where}:"),
            "update": N_("Nexo updates its message in {where}:"),
            "ephemeral": N_("Nexo → {where} (only visible to them):"),
            "file": N_("Nexo uploads a file to {where}:"),
        }
        return self.t(headers[verb], where=self._place(people) if verb in ("post", "update", "file") else people[0])

    def _who(self, channel: str) -> str:
        """Whose DM ``channel`` is (their name), else ``#channel``."""
        for uid, name in self.names.items():
            if channel in (uid, self.fake.dm_channel(uid)):
                return name
        return f"#{channel}"

    def _place(self, whos: list[str]) -> str:
        """``ana (DM)``, ``ana, bruno (DM)`` or ``#channel``."""
        if any(who.startswith("#") for who in whos):
            return ", ".join(whos)
        return self.t(N_("{name} (DM)"), name=", ".join(whos))

    # -- finding messages -------------------------------------------------------------------------
    def latest_with_button(self, user: str, action_id: str, contains: str = "") -> dict[str, Any]:
        """The newest DM to ``user`` that still carries the button ``action_id`` (and ``contains`` in its text)."""
        for message in reversed(self.fake.dm_messages(user)):
            if contains not in (message.get("text") or ""):
                continue
            for block in message.get("blocks") or []:
                elements = [*(block.get("elements") or []), block.get("accessory") or {}]
                if any(e.get("action_id") == action_id for e in elements):
                    return message
        raise AssertionError(f"no DM to {user} with a {action_id} button")

    def latest_dm(self, user: str, contains: str = "") -> dict[str, Any]:
        msgs = [m for m in self.fake.dm_messages(user) if contains in (m.get("text") or "")]
        assert msgs, f"no DM to {user} containing {contains!r}"
        return msgs[-1]

    def close(self) -> None:
        self.server.stop()
        self.nexo.close()
        self.fake.stop()
        self._tmp.cleanup()


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes >= 24 * 60:
        return f"{minutes // (24 * 60)}d{minutes % (24 * 60) // 60:02d}h"
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
