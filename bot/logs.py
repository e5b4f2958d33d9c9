"""Structured logging: one JSON object per line, secrets scrubbed on the way out."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Tokens that must never reach a log line, whatever logged them (ours or a library's).
_SECRET_PATTERNS = [
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "[redacted]"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"']+"), r"\1[redacted]"),
    (re.compile(r"(?i)(signing_secret|secret|password|token)=([^&\s\"']+)"), r"\1=[redacted]"),
    (re.compile(r"(postgres(?:ql)?(?:\+\w+)?://[^:/\s]+:)[^@\s]+(@)"), r"\1[redacted]\2"),
]
# Every pattern above needs one of these words: a line without any (most request lines) skips the five
# substitutions, which were a few percent of a request's CPU under bench/ack.py (py-spy).
_SECRET_WORDS = ("xox", "xapp-", "bearer", "secret", "password", "token", "postgres")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def scrub(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """Remove known secrets and anything shaped like a Slack token or DB password."""
    for secret in extra_secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    lowered = text.casefold()
    if not any(word in lowered for word in _SECRET_WORDS):
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(data, default=str, ensure_ascii=False), self.secrets)


def configure_logging(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a JSON line too, not text on stderr
    # slack_sdk logs request bodies at DEBUG; keep it at INFO even when we debug.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, root.level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def gunicorn_logconfig(level: str = "INFO", secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines ("Booting worker", "WORKER TIMEOUT") go through the root
    logger's :class:`JsonFormatter`, scrubbed as every other line. gunicorn lays this over its defaults key by
    key, so the root logger is given too (its default writes plain text)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "secrets": tuple(secrets)}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            # Off: the app logs one structured line per request (and bot.server turns gunicorn's access log off).
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
