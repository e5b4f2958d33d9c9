"""Container health checks: ``python -m bot.probe [http|database]``, exit status 0 when healthy.

- ``http`` (the default, the Docker image's ``HEALTHCHECK``): ``GET /readyz`` on this container's ``$PORT``
  answers 200, i.e. the web process runs and its database is reachable and migrated. Standard library only,
  so a check every few seconds costs a bare interpreter start.
- ``database`` (the worker, which serves no HTTP): the database is reachable and at this code's schema.

On failure it prints one line saying why (Docker keeps it in ``docker inspect``'s health log).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 4


def http_ready(port: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=TIMEOUT_SECONDS) as response:
            return None if response.status == 200 else f"/readyz answered {response.status}"
    except urllib.error.HTTPError as e:
        return f"/readyz answered {e.code}: {e.read(500).decode(errors='replace')}"
    except OSError as e:
        return f"/readyz unreachable on port {port}: {e}"


def database_ready() -> str | None:
    from bot.config import ConfigError, load_settings
    from bot.db import Database

    try:
        db = Database(load_settings(require_slack=False).database_url)
    except ConfigError as e:
        return str(e)
    try:
        return db.schema_problem()
    except Exception as e:  # unreachable: say so without a traceback
        return f"database unreachable ({type(e).__name__})"
    finally:
        db.dispose()


def main(argv: list[str]) -> int:
    kind = argv[0] if argv else "http"
    if kind == "http":
        problem = http_ready(os.environ.get("PORT", "").strip() or "3000")
    elif kind == "database":
        problem = database_ready()
    else:
        print("usage: python -m bot.probe [http|database]", file=sys.stderr)
        return 2
    if problem:
        print(f"nexo: not ready: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
