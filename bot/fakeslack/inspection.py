"""Read-only views of the fake's state for tests and the demo: copies, taken under the lock."""

from __future__ import annotations

import copy
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

from .state import Call, SlackState
from .transcript import render_message, render_view

Message = dict[str, Any]


class StateAccessors:
    """Mixed into :class:`~bot.fakeslack.server.FakeSlack`; every accessor returns copies."""

    _lock: threading.RLock
    _state: SlackState

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._state.calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget recorded calls, rejections and warnings (the workspace's content stays)."""
        with self._lock:
            self._state.calls.clear()
            self._state.rejections.clear()
            self._state.warnings.clear()

    def messages(self, channel: str | None = None, *, include_deleted: bool = False) -> list[Message]:
        """Messages in posting order with their current content.

        Every dict has ``channel``, ``ts``, ``user``, ``text``, ``blocks`` ([] if none), ``thread_ts``
        and ``metadata`` (None if none), ``edits`` (earlier versions, oldest first) and ``source``.
        """
        with self._lock:
            return [
                {"blocks": [], "thread_ts": None, "metadata": None, **copy.deepcopy(m)}
                for m in self._state.messages
                if (channel is None or m["channel"] == channel) and (include_deleted or not m["deleted"])
            ]

    def dm_messages(self, user_id: str) -> list[Message]:
        with self._lock:
            channel = self._state.dm_by_user.get(user_id)
        return self.messages(channel) if channel else []

    def ephemerals(self, user: str | None = None) -> list[Message]:
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._state.ephemerals
                if (user is None or e["user"] == user) and not e["deleted"]
            ]

    def find_message(self, predicate: Callable[[Message], Any]) -> Message | None:
        """The newest message matching ``predicate``, or None."""
        return next((m for m in reversed(self.messages()) if predicate(m)), None)

    def responses(self, token_or_url: str | None = None) -> list[dict[str, Any]]:
        token = token_or_url.rstrip("/").rsplit("/", 1)[-1] if token_or_url else None
        with self._lock:
            return [copy.deepcopy(r) for r in self._state.responses if token is None or r["token"] == token]

    def views_opened(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Modals opened or pushed (current content), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(r["view"])
                for r in self._state.views.values()
                if r["view"].get("type") == "modal" and (user_id is None or r["user_id"] == user_id)
            ]

    def open_views(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Modals not yet closed by a submission, ``clear`` or ``close_view``."""
        with self._lock:
            return [
                copy.deepcopy(r["view"])
                for r in self._state.views.values()
                if r["view"].get("type") == "modal" and not r["closed"] and (user_id is None or r["user_id"] == user_id)
            ]

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._state.views.get(view_id)
            return copy.deepcopy(record["view"]) if record else None

    def view_user(self, view_id: str) -> str | None:
        with self._lock:
            record = self._state.views.get(view_id)
            return record["user_id"] if record else None

    def last_view(self, user_id: str | None = None) -> dict[str, Any] | None:
        views = self.views_opened(user_id)
        return views[-1] if views else None

    def home_views(self, user_id: str) -> list[dict[str, Any]]:
        """Every Home tab published for ``user_id``, oldest first (the last one is what they see)."""
        with self._lock:
            return copy.deepcopy(self._state.home.get(user_id, []))

    def uploaded_files(self) -> list[dict[str, Any]]:
        """Shared files with their bytes in ``content``."""
        with self._lock:
            return copy.deepcopy(self._state.files)

    def rejections(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._state.rejections)

    def scope_refusals(self) -> list[str]:
        """``method: needed scope`` for each call refused with ``missing_scope`` (see ``scopes.py``)."""
        with self._lock:
            return [
                f"{c.method}: {c.response.get('needed')}"
                for c in self._state.calls
                if isinstance(c.response, dict) and c.response.get("error") == "missing_scope"
            ]

    def warnings(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._state.warnings)

    def wait_for(
        self, predicate: Callable[..., Any], timeout: float = 5.0, interval: float = 0.02, message: str = ""
    ) -> Any:
        """Poll ``predicate()`` (or ``predicate(fake)``) until truthy; return its value.

        Exceptions inside the predicate count as "not yet". On timeout, raise AssertionError
        with a dump of the fake's state.
        """
        takes_fake = _takes_argument(predicate)
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while True:
            try:
                result = predicate(self) if takes_fake else predicate()
            except Exception as exc:
                result, last_error = None, exc
            if result:
                return result
            if time.monotonic() >= deadline:
                detail = f"\nlast error in predicate: {last_error!r}" if last_error else ""
                raise AssertionError(f"wait_for timed out after {timeout}s {message}{detail}\n{self.dump()}")
            time.sleep(interval)

    def dump(self, last_calls: int = 30) -> str:
        """A readable summary of recent calls and the workspace's content."""
        with self._lock:
            calls = self._state.calls[-last_calls:]
            lines = [f"-- last {len(calls)} calls --"]
            lines += [
                f"{c.method} -> {c.status} {c.response.get('error') or ('ok' if c.response.get('ok') else '')}"
                f" {_short(c.params)}"
                for c in calls
            ]
            lines.append("-- messages --")
            for m in self._state.messages:
                if not m["deleted"]:
                    lines.append(f"[{m['channel']} {m['ts']}] " + render_message(m).replace("\n", "\n    "))
            lines.append("-- ephemerals --")
            lines += [
                f"[{e['channel']} to {e['user']}] " + render_message(e).replace("\n", "\n    ")
                for e in self._state.ephemerals
                if not e["deleted"]
            ]
            lines.append("-- views --")
            lines += [
                f"[{vid} {r['user_id']}{' closed' if r['closed'] else ''}] "
                + render_view(r["view"]).replace("\n", "\n    ")
                for vid, r in self._state.views.items()
            ]
            lines.append(f"-- responses: {len(self._state.responses)}, rejections --")
            lines += [f"{r['method']}: {r['errors']}" for r in self._state.rejections]
            lines.append("-- warnings --")
            lines += [f"{w['method']}: {w['warning']}" for w in self._state.warnings]
            return "\n".join(lines)


def _takes_argument(predicate: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(predicate).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params)


def _short(params: dict[str, Any], limit: int = 160) -> str:
    text = repr({k: v for k, v in params.items() if k not in ("blocks", "view")})
    return text if len(text) <= limit else text[:limit] + "…"
