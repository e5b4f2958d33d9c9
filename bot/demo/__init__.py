"""``python -m bot demo``: a scripted, time-accelerated scenario against the built-in fake Slack.

Nothing leaves the machine: the fake Slack and the bot both listen on loopback,
the database is a throwaway SQLite file, and the clock is moved by the script.
"""

from __future__ import annotations

from bot.demo.runner import run_demo

__all__ = ["run_demo"]
