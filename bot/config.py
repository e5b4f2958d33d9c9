"""Settings from the environment and an optional ``.env`` file, validated once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///nexo.db"
# Each process's PostgreSQL pool (bot.db.make_engine says why these sizes); it opens at most their sum.
DEFAULT_DB_POOL_SIZE, DEFAULT_DB_MAX_OVERFLOW = 20, 12
README_HINT = "see README.md, section 'Set up the Slack app'"


class ConfigError(Exception):
    """Configuration is missing or invalid; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    sweep_seconds: float = 30.0
    delivery_seconds: float = 5.0
    port: int = 3000
    log_level: str = "INFO"
    # Who counts as "agency": empty means every member of the workspace that
    # installed the bot; otherwise only these user ids (U...) and members of
    # these user groups (S...).
    agency_members: tuple[str, ...] = field(default_factory=tuple)
    web_concurrency: int = 2
    web_threads: int = 8
    # Who sends the notices a web request causes: "worker" (handed over with PostgreSQL NOTIFY, see
    # bot.delivery.handoff), "inline" (the web process itself) or "auto" (worker on PostgreSQL).
    delivery: str = "auto"
    db_pool_size: int = DEFAULT_DB_POOL_SIZE  # NEXO_DB_POOL_SIZE
    db_max_overflow: int = DEFAULT_DB_MAX_OVERFLOW  # NEXO_DB_MAX_OVERFLOW
    # `worker` answers /livez, /readyz and /metrics on this port when set (its ticks and reminder lags).
    worker_port: int | None = None
    # Where the publishing tool reaches this app (NEXO_PUBLIC_URL, e.g. https://nexo.example.com): the
    # hand-off's media links (GET /media/...) start with it.
    public_url: str | None = None

    def web_hands_off(self) -> bool:
        """Whether ``serve``'s web processes leave sending notices to the worker."""
        return self.delivery == "worker" or (self.delivery == "auto" and self.database_url.startswith("postgres"))

    def redacted(self) -> dict[str, object]:
        """Settings safe to log: secrets reduced to whether they are set."""
        return {
            "slack_bot_token": "set" if self.slack_bot_token else "missing",
            "slack_signing_secret": "set" if self.slack_signing_secret else "missing",
            "slack_app_token": "set" if self.slack_app_token else "unset",
            "database": _redact_url(self.database_url),
            "slack_api_url": self.slack_api_url,
            "sweep_seconds": self.sweep_seconds,
            "port": self.port,
        }


def _redact_url(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def _number(env: dict[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


DATABASE_HINT = "see README.md, section 'Configuration'"


def _count(env: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def _database_url(env: dict[str, str]) -> str:
    """``DATABASE_URL``, refused at start (one line) unless it is a PostgreSQL or SQLite URL Nexo can use."""
    url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    url = scheme + url[len(scheme) :]
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return url
    if scheme == "sqlite" and (url.startswith("sqlite:///") or url == "sqlite://"):
        return url
    if scheme == "sqlite":
        raise ConfigError(
            "DATABASE_URL: a SQLite URL has three slashes before a relative path (sqlite:///nexo.db) "
            f"and four before an absolute one (sqlite:////var/lib/nexo/nexo.db); {DATABASE_HINT}"
        )
    # Only the scheme is repeated: the rest may hold a password.
    got = f"a {scheme}:// URL" if scheme else "something that is not a URL"
    raise ConfigError(
        f"DATABASE_URL must be postgresql://user:password@host:5432/db or sqlite:///nexo.db, got {got}; {DATABASE_HINT}"
    )


def load_settings(
    env: dict[str, str] | None = None, *, dotenv_path: str | Path | None = ".env", require_slack: bool = True
) -> Settings:
    """Read settings; raise :class:`ConfigError` naming whatever is missing or wrong."""
    if env is None:
        if dotenv_path and Path(dotenv_path).exists():
            load_dotenv(dotenv_path, override=False)
        env = dict(os.environ)
    missing = [n for n in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not env.get(n, "").strip()]
    if missing and require_slack:
        raise ConfigError(f"missing {' and '.join(missing)}; {README_HINT}")
    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    database_url = _database_url(env)
    members = tuple(m.strip() for m in env.get("NEXO_AGENCY_MEMBERS", "").replace(";", ",").split(",") if m.strip())
    return Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip() or None,
        database_url=database_url,
        slack_api_url=api_url,
        sweep_seconds=_number(env, "NEXO_SWEEP_SECONDS", 30.0, minimum=0.1),
        delivery_seconds=_number(env, "NEXO_DELIVERY_SECONDS", 5.0, minimum=0.1),
        port=int(_number(env, "PORT", 3000, minimum=0)),
        log_level=(env.get("LOG_LEVEL", "").strip() or "INFO").upper(),
        agency_members=members,
        web_concurrency=int(_number(env, "WEB_CONCURRENCY", 2, minimum=1)),
        web_threads=int(_number(env, "NEXO_WEB_THREADS", 8, minimum=1)),
        delivery=_delivery(env, database_url=database_url),
        db_pool_size=_count(env, "NEXO_DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE, minimum=1),
        db_max_overflow=_count(env, "NEXO_DB_MAX_OVERFLOW", DEFAULT_DB_MAX_OVERFLOW, minimum=0),
        worker_port=int(_number(env, "NEXO_WORKER_PORT", 0, minimum=1)) or None,
        public_url=_public_url(env),
    )


def _public_url(env: dict[str, str]) -> str | None:
    url = env.get("NEXO_PUBLIC_URL", "").strip().rstrip("/")
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError(f"NEXO_PUBLIC_URL must start with https://, got {url[:40]!r}")
    return url or None


def _delivery(env: dict[str, str], *, database_url: str) -> str:
    value = (env.get("NEXO_DELIVERY", "").strip() or "auto").lower()
    if value not in ("auto", "worker", "inline"):
        raise ConfigError(f"NEXO_DELIVERY must be auto, worker or inline, got {value!r}")
    if value == "worker" and not database_url.startswith("postgres"):
        raise ConfigError("NEXO_DELIVERY=worker needs PostgreSQL (LISTEN/NOTIFY); SQLite delivers inline")
    return value
