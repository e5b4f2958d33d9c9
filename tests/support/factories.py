"""Set-up through Slack, as a user would do it."""

from __future__ import annotations

from tests.support.people import BACKUP, CM, LEAD, REF


def add_client(
    slack,
    name: str = "Acme",
    *,
    ref: str = REF,
    backups=(BACKUP,),
    lead: str | None = LEAD,
    cms=(CM,),
    extra: str = 'tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h',
    by: str = LEAD,
) -> dict:
    """``/nexo client add`` with escaped mentions; returns the ack body (asserts success)."""
    parts = [name, f"ref:<@{ref}|x>"]
    parts += [f"backup:<@{b}|x>" for b in backups]
    if lead:
        parts.append(f"lead:<@{lead}|x>")
    parts += [f"cm:<@{c}|x>" for c in cms]
    parts.append(extra)
    r = slack.command("client add " + " ".join(parts), user_id=by)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "set up" in body["text"] or "dado de alta" in body["text"], body["text"]
    return body
