"""Try Nexo from outside, as an operator and its users would: real processes, real signed requests.

    .venv/bin/python scripts/outside_check.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

On a throwaway PostgreSQL schema (or SQLite file): ``serve`` before ``migrate`` must refuse to start,
``python -m bot migrate`` migrates, then ``serve`` (gunicorn, with its worker) runs on the system clock
against the fake Slack on loopback. A Spanish-speaking client whose people left Slack at ``en-US``, with
ids as Slack makes them, goes through a draft, an approval, a question, the calendar, a crisis and its
timeline; each step checks what Slack received. Exit status 0 when every check holds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.fakeslack import FakeSlack, SlackRequests  # noqa: E402
from bot.fakeslack.transcript import render_message  # noqa: E402

SECRET = "outside-check-signing-secret"
TEAM, ACME = "T04AGNCY7", "T07ACMEQ1"
LEAD, CM, REF, BACKUP = "U04LD8RKQ2A", "U04CM3JX9PB", "U07RF2MVN4C", "U07BK6TQW1D"
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failures.append(what)


def wait(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nexo-outside-"))
    schema = None
    url = args.database_url
    if url.startswith("postgresql"):
        schema = f"outside_{uuid.uuid4().hex[:8]}"
        with create_engine(url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    else:
        url = url or f"sqlite:///{work}/nexo.db"
    fake = FakeSlack(bot_token="xoxb-outside", team_id=TEAM).start()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "NEXO_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-outside",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        DATABASE_URL=url,
        PORT=str(port),
        WEB_CONCURRENCY="2",
    )
    python = [sys.executable, "-m", "bot"]
    serve = None
    try:
        print("operator")
        if schema:
            r = subprocess.run([*python, "serve"], env=env, cwd=work, capture_output=True, text=True, timeout=60)
            check(
                r.returncode == 2 and "python -m bot migrate" in r.stderr and "Traceback" not in r.stderr,
                f"serve before migrate stops with one line naming migrate: {r.stderr.strip()[-160:]!r}",
            )
        r = subprocess.run([*python, "migrate"], env=env, cwd=work, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"python -m bot migrate from {work}")
        log = (work / "serve.log").open("wb")
        serve = subprocess.Popen([*python, "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        ready = wait(lambda: _get(f"{base}/readyz") == 200, timeout=60)
        check(bool(ready), "/readyz answers 200 once up")
        check(_get(f"{base}/livez") == 200, "/livez answers 200")

        for user, name, team, locale in (
            (LEAD, "luis", TEAM, "en-US"),
            (CM, "carla", TEAM, "en-US"),
            (REF, "ana", ACME, "en-US"),
            (BACKUP, "bruno", ACME, "en-US"),
        ):
            fake.add_user(user, name, team_id=team, tz="Europe/Madrid", locale=locale)
        slack = SlackRequests(base, SECRET, fake, team_id=TEAM)

        print("a Spanish client whose people use Slack in en-US")
        r = slack.command(
            f"client add Acme ref:<@{REF}|ana> backup:<@{BACKUP}|bruno> lead:<@{LEAD}|luis> "
            f'cm:<@{CM}|carla> tz:Europe/Madrid hours:"mon-sun 00:00-23:59" window:4h lang:es',
            user_id=LEAD,
        )
        reply = slack.answer(r) if r.status_code == 200 and not r.content else (r.json().get("text") or "")
        check(r.status_code == 200 and "Acme" in reply, f"client add answered: {reply[:90]!r}")

        r = slack.command("draft Acme network:instagram,x ¡Llega el invierno! Abrigos al 25 % esta semana.", user_id=CM)
        check(r.status_code == 200, "draft acked 200")
        card = wait(lambda: next((m for m in fake.dm_messages(REF) if m.get("blocks")), None))
        shown = render_message(card) if card else ""
        check(bool(card) and "Aprobar" in shown and "Approve" not in shown, "the card reaches Ana in Spanish")
        r = slack.click(card, REF, action_id="approval_approve")
        check(r.status_code == 200, "Approve acked 200")
        told = wait(lambda: next((t for t in map(render_message, fake.dm_messages(CM)) if "approved" in t), None))
        check(bool(told), "Carla (agency, en-US) is told in English")

        r = slack.command("ask Acme ¿Confirmáis el horario del sábado?", user_id=CM)
        check(r.status_code == 200, "ask acked 200")
        question = wait(lambda: next((m for m in fake.dm_messages(REF) if "Responder" in render_message(m)), None))
        check(bool(question), "the question reaches Ana in Spanish, with Responder")

        r = slack.command("calendar Acme", user_id=LEAD)
        cal = slack.answer(r) if r.status_code == 200 and not r.content else r.text
        check(r.status_code == 200 and "Calendar" in cal, "calendar answered")

        r = slack.command("crisis declare Acme sev:1 Un vídeo de un abrigo roto se hace viral", user_id=LEAD)
        check(r.status_code == 200, "crisis declared")
        page = wait(lambda: next((m for m in fake.dm_messages(REF) if "🚨" in render_message(m)), None))
        check(bool(page) and "crisis de reputación" in render_message(page).lower(), "Ana is paged, in Spanish")
        r = slack.command("crisis timeline Acme", user_id=LEAD)
        timeline = slack.answer(r) if r.status_code == 200 and not r.content else r.text
        check(r.status_code == 200 and "declared" in timeline.lower(), "crisis timeline shows the declaration")
        r = slack.command("crisis resolve Acme", user_id=LEAD)
        check(r.status_code == 200, "crisis resolved")

        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        check(
            "nexo_outbox_owed" in metrics and "Acme" not in metrics and REF not in metrics,
            "/metrics has the outbox gauges and no client names or user ids",
        )
        check(fake.rejections() == [], f"Slack rejected nothing ({len(fake.rejections())})")
    finally:
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        fake.stop()
        if schema:
            with create_engine(args.database_url).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    log_text = (work / "serve.log").read_text(errors="replace") if (work / "serve.log").exists() else ""
    check("Traceback" not in log_text, "no traceback in the server's log")
    print(f"{len(failures)} failed" if failures else "all checks passed", f"(log: {work}/serve.log)")
    return 1 if failures else 0


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
