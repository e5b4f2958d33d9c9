"""The stage the demo plays on: fake Slack, the real bot over HTTP, a movable clock, a transcript."""

from __future__ import annotations

import re
import sys
import tempfile
import time
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
from bot.devtools.local_server import LocalServer
from bot.fakeslack import FakeSlack, SlackRequests, render_blocks_as_text
from bot.fakeslack.scopes import manifest_scopes
from bot.jobs import run_tick
from bot.models import Base
from bot.web import make_wsgi_app

SIGNING_SECRET = "demo-signing-secret"
MADRID = ZoneInfo("Europe/Madrid")


class Stage:
    def __init__(self, start: datetime, names: dict[str, str], out: TextIO = sys.stdout) -> None:
        self.out = out
        self.language = "en"  # the client's plan language (and the agency's Slack), set by the script
        self.names = names
        self.clock = FrozenClock(start)
        self._tmp = tempfile.TemporaryDirectory(prefix="nexo-demo-")
        self.fake = FakeSlack(bot_token="xoxb-demo", team_id="T_AGENCY", scopes=manifest_scopes()).start()
        db = Database(f"sqlite:///{Path(self._tmp.name) / 'demo.db'}")
        create_schema(db.engine, Base.metadata)
        settings = Settings(slack_bot_token="xoxb-demo", slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=self.fake.api_url, database_url=db.url)
        self.nexo = build_app(settings, db=db, clock=self.clock)
        self.server = LocalServer(make_wsgi_app(self.nexo)).start()
        self.slack = SlackRequests(self.server.url, SIGNING_SECRET, self.fake)
        self._seen_calls = 0

    # -- narration --------------------------------------------------------------------------------
    def now_local(self) -> str:
        return self.clock.now().astimezone(MADRID).strftime("%a %d %b %H:%M")

    def scene(self, title: str) -> None:
        self.out.write(f"\n=== {title} ===\n")

    def say(self, who: str, what: str) -> None:
        what = re.sub(r"<[@#]([A-Z0-9]+)\|([^>]*)>", r"@\2", what)  # escaped mentions, as Slack shows them
        self.out.write(f"[{self.now_local()}] {self.names.get(who, who)}: {what}\n")

    def note(self, text: str) -> None:
        self.out.write(f"  ({text})\n")

    def _show(self, header: str, text: str, blocks: Any) -> None:
        body = "\n".join(render_blocks_as_text(blocks)) if blocks else text
        body = self._names(body)
        indented = "\n".join("      " + line for line in body.splitlines() if line.strip())
        self.out.write(f"  {header}\n{indented}\n")

    def _names(self, text: str) -> str:
        text = re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", text)  # Slack renders dates; print the fallback
        for uid, name in self.names.items():
            text = text.replace(f"<@{uid}>", "@" + name).replace(f"@{uid}", "@" + name)
        return text

    # -- acting -----------------------------------------------------------------------------------
    def command(self, user: str, text: str, channel: str = "C_AGENCY") -> dict[str, Any]:
        self.say(user, f"/nexo {text}")
        r = self.slack.command(text, user_id=user, channel_id=channel)
        body = r.json() if r.text else {}
        if body.get("text"):
            self._show(f"Nexo → {self.names.get(user, user)} (only visible to them):", body["text"],
                       body.get("blocks"))
        self.settle()
        return body

    def click(self, user: str, message: dict[str, Any], action_id: str) -> None:
        _, button = self.slack.find_button(message, action_id=action_id)
        self.say(user, f"clicks [{button['text']['text']}]")
        self.slack.click(message, user_id=user, action_id=action_id)
        self.settle()

    def submit(self, user: str, values: dict[str, Any]) -> dict[str, Any]:
        self.fake.wait_for(lambda: self.fake.open_views(user), timeout=15, message=f"no form open for {user}")
        view = self.fake.open_views(user)[-1]
        self.say(user, "submits the form")
        r = self.slack.submit_view(view, user, values)
        self.settle()
        return r.json() if r.text else {}

    def wait(self, delta: timedelta, why: str = "") -> None:
        """Move time forward in scheduler ticks, as a worker would."""
        end = self.clock.now() + delta
        self.out.write(f"\n  ... {why or 'time passes'} ({_span(delta)}) ...\n")
        step = timedelta(minutes=5)
        while self.clock.now() < end:
            self.clock.advance(min(step, end - self.clock.now()))
            run_tick(self.nexo.ctx)
            self.settle(quiet=0.0)

    def settle(self, timeout: float = 15.0, quiet: float = 0.3) -> None:
        """Wait until the bot has finished reacting, then print what Slack received.

        Listeners run after the ack, so "done" means: nothing due is owed in the outbox and
        Slack has seen no new call for ``quiet`` seconds (0 for clock ticks, which run inline).
        """
        self.nexo.wait_idle(timeout)
        deadline = time.monotonic() + timeout
        last: tuple[int, bool] | None = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            with self.nexo.ctx.db.sessionmaker() as s:
                owed = s.scalar(select(OutboxNotice.id).where(
                    OutboxNotice.status.in_((NoticeStatus.PENDING, NoticeStatus.SENDING)),
                    OutboxNotice.next_attempt_at <= self.clock.now()).limit(1)) is not None
            if owed:
                self.nexo.ctx.deliverer.sweep()
            state = (len(self.fake.calls()), owed)
            if state != last:
                last, since = state, time.monotonic()
            elif not owed and time.monotonic() - since >= quiet:
                break
            time.sleep(0.05)
        self._print_new_calls()

    def _print_new_calls(self) -> None:
        calls = self.fake.calls()
        for call in calls[self._seen_calls:]:
            p = call.params
            if call.status != 200 or not call.response.get("ok"):
                continue
            if call.method == "chat.postMessage":
                where = self._where(p.get("channel", ""))
                self._show(f"Nexo → {where}:", p.get("text", ""), p.get("blocks"))
            elif call.method == "chat.update":
                self._show(f"Nexo updates its message in {self._where(p.get('channel', ''))}:", p.get("text", ""),
                           p.get("blocks"))
            elif call.method == "chat.postEphemeral":
                self._show(f"Nexo → {self.names.get(str(p.get('user')), p.get('user'))} (only visible to them):",
                           p.get("text", ""), p.get("blocks"))
            elif call.method in ("views.open", "views.push"):
                view = p.get("view") or {}
                title = (view.get("title") or {}).get("text", "")
                self.out.write(f"  Nexo opens a form: “{title}”\n")
            elif call.method == "files.completeUploadExternal":
                self.out.write("  Nexo uploads a file\n")
        self._seen_calls = len(calls)

    def _where(self, channel: str) -> str:
        for uid, name in self.names.items():
            if channel in (uid, self.fake.dm_channel(uid)):
                return f"{name} (DM)"
        return f"#{channel}"

    def latest_with_button(self, user: str, action_id: str) -> dict[str, Any]:
        """The newest DM to ``user`` that still carries the button ``action_id``."""
        for message in reversed(self.fake.dm_messages(user)):
            for block in message.get("blocks") or []:
                if any(e.get("action_id") == action_id for e in block.get("elements") or []):
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
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
