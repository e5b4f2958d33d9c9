"""Who reads a notice, as the domain needs to know it: their language (no Slack types here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

LanguageOf = Callable[[str], str]  # a user id -> "en", "es"...


class Directory(Protocol):
    def get(self, user_id: str) -> Any: ...


def languages_from(directory: Directory) -> LanguageOf:
    """A user's language from the user directory (English when Slack does not know them)."""
    def language_of(user_id: str) -> str:
        user = directory.get(user_id)
        return str(user.language) if user is not None else "en"
    return language_of
