"""The cast every test can use: agency staff and two clients' people (one from another org)."""

from __future__ import annotations

AGENCY_TEAM = "T_AGENCY"
CLIENT_TEAM = "T_ACME"

CM = "U0CM"  # Carla, community manager (agency)
LEAD = "U0LEAD"  # Luis, account lead (agency)
ADMIN = "U0ADMIN"  # agency admin
MEMBER = "U0MEMBER"  # Marta, an agency member on no client's plan
REF = "U0REF"  # Ana, Acme's reference person (Acme's org, Slack Connect, Spanish)
BACKUP = "U0BACKUP"  # Bruno, Acme's backup (Acme's org)
OTHER_REF = "U0OTHER"  # reference person of another client (another org)
STRANGER = "U0STRANGE"  # member of an unrelated external org
BOT_USER = "U0SOMEBOT"


def add_people(fake) -> None:
    fake.add_user(CM, "carla", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="es-ES")
    fake.add_user(LEAD, "luis", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(ADMIN, "admin", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    fake.add_user(MEMBER, "marta", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="es-ES")
    fake.add_user(REF, "ana", team_id=CLIENT_TEAM, tz="Europe/Madrid", locale="es-ES")
    fake.add_user(BACKUP, "bruno", team_id=CLIENT_TEAM, tz="Europe/Madrid", locale="es-ES")
    fake.add_user(OTHER_REF, "olga", team_id="T_OTHER", tz="America/Mexico_City", locale="es-LA")
    fake.add_user(STRANGER, "sam", team_id="T_STRANGE", tz="America/New_York", locale="en-US")
    fake.add_user(BOT_USER, "somebot", team_id=AGENCY_TEAM, is_bot=True)
