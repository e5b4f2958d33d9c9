"""The command line: clear one-line errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
        cwd=cwd,
    )


def test_missing_tokens_give_one_clear_line(tmp_path):
    r = run_cli("serve", cwd=str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "SLACK_BOT_TOKEN" in r.stderr and "SLACK_SIGNING_SECRET" in r.stderr
    assert "README" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_signing_secret_only(tmp_path):
    r = run_cli("worker", env={"SLACK_BOT_TOKEN": "xoxb-1"}, cwd=str(tmp_path))
    assert r.returncode == 2
    assert "SLACK_SIGNING_SECRET" in r.stderr and "SLACK_BOT_TOKEN" not in r.stderr


def test_bad_number_setting_is_named(tmp_path):
    r = run_cli(
        "worker",
        env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "NEXO_SWEEP_SECONDS": "often"},
        cwd=str(tmp_path),
    )
    assert r.returncode == 2
    assert "NEXO_SWEEP_SECONDS" in r.stderr and "Traceback" not in r.stderr


def test_migrate_creates_the_embedded_database(tmp_path):
    r = run_cli("migrate", env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x.db").exists()


def test_app_token_selects_socket_mode_and_a_refusal_is_one_line(tmp_path):
    from bot.fakeslack import FakeSlack
    from bot.fakeslack.scopes import manifest_scopes

    with FakeSlack(bot_token="xoxb-1", scopes=manifest_scopes()) as fake:
        r = run_cli(
            env={
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_APP_TOKEN": "xapp-bad",
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
            },
            cwd=str(tmp_path),
        )
        assert [c.method for c in fake.calls("apps.connections.open")] == ["apps.connections.open"]
    assert r.returncode == 2
    assert "Socket Mode" in r.stderr and "SLACK_APP_TOKEN" in r.stderr
    assert "Traceback" not in r.stderr and "xapp-bad" not in r.stderr


def _empty_pg_schema():
    """A PostgreSQL schema no one migrated (None without TEST_DATABASE_URL), and its cleanup."""
    import uuid

    from sqlalchemy import create_engine, text

    from bot.db import normalize_database_url
    from tests.conftest import PG_URL

    if not PG_URL:
        return None, lambda: None
    base = normalize_database_url(PG_URL)
    schema = f"nexo_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def test_serve_on_a_database_never_migrated_names_the_migrate_command(tmp_path):
    import pytest

    url, drop = _empty_pg_schema()
    if url is None:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite migrates itself")
    try:
        for cmd in (["serve", "--no-scheduler"], ["worker"]):
            r = run_cli(
                *cmd,
                env={
                    "SLACK_BOT_TOKEN": "xoxb-1",
                    "SLACK_SIGNING_SECRET": "s",
                    "DATABASE_URL": url,
                    "SLACK_API_URL": "http://127.0.0.1:9/api/",
                },
                cwd=str(tmp_path),
            )
            assert r.returncode == 2, r.stderr[-2000:]
            assert "no Nexo schema yet: run `python -m bot migrate`" in r.stderr
            assert "Traceback" not in r.stderr and "ProgrammingError" not in r.stderr
            assert "unreachable" not in r.stderr
    finally:
        drop()


def test_healthz_says_the_schema_is_missing_and_how_to_fix_it(fake_slack, clock, tmp_path):
    import httpx

    from bot.db import Database
    from bot.models import Base
    from tests.support.bot import start_bot

    db = Database(f"sqlite:///{tmp_path}/unmigrated.db")
    Base.metadata.create_all(db.engine)  # tables, but not stamped by a migration
    running = start_bot(fake_slack, db, clock, signing_secret="s")
    try:
        r = httpx.get(f"{running.url}/healthz", timeout=15)
        assert r.status_code == 503
        assert r.json() == {
            "status": "degraded",
            "database": "ok",
            "schema": "the database has no Nexo schema yet: run `python -m bot migrate`",
        }
    finally:
        running.stop()


def _one_line_refusal(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    return r.stderr


def test_a_database_url_of_another_kind_is_refused_in_one_line_without_its_password(tmp_path):
    slack = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    for cmd in ("migrate", "serve", "worker"):
        line = _one_line_refusal(
            run_cli(cmd, env={**slack, "DATABASE_URL": "mysql://nexo:hunter2@db/nexo"}, cwd=str(tmp_path))
        )
        assert "DATABASE_URL must be postgresql://" in line and "sqlite:///" in line and "a mysql:// URL" in line
        assert "hunter2" not in line
    line = _one_line_refusal(run_cli("migrate", env={"DATABASE_URL": "sqlite://nexo.db"}, cwd=str(tmp_path)))
    assert "three slashes" in line and "sqlite:///nexo.db" in line
    line = _one_line_refusal(run_cli("migrate", env={"DATABASE_URL": "nexo.db"}, cwd=str(tmp_path)))
    assert "got something that is not a URL" in line


def test_an_unwritable_sqlite_path_is_refused_in_one_line_that_names_the_fix(tmp_path):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-dir.db").mkdir()
    slack = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    cases = {
        f"sqlite:///{tmp_path}/missing/nexo.db": f"the directory {tmp_path}/missing does not exist",
        f"sqlite:///{tmp_path}/a-file/nexo.db": f"the directory {tmp_path}/a-file does not exist",
        f"sqlite:///{tmp_path}/a-dir.db": f"{tmp_path}/a-dir.db is not a writable file",
    }
    for url, reason in cases.items():
        for cmd in ("migrate", "serve", "worker"):
            line = _one_line_refusal(run_cli(cmd, env={**slack, "DATABASE_URL": url}, cwd=str(tmp_path)))
            assert reason in line, line
            assert "set DATABASE_URL to a file in a writable directory" in line
    assert not (tmp_path / "missing").exists()


def test_postgresql_without_the_postgres_extra_names_the_extra(tmp_path):
    # The process as an install without psycopg runs it: the import machinery finds no psycopg.
    code = "import sys; sys.modules['psycopg'] = None; from bot.__main__ import main; sys.exit(main(sys.argv[1:]))"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    for cmd in ("migrate", "worker"):
        r = subprocess.run(
            [sys.executable, "-c", code, cmd],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=str(tmp_path),
            env={
                **base,
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "DATABASE_URL": "postgres://nexo:hunter2@127.0.0.1:9/nexo",
            },
        )
        line = _one_line_refusal(r)
        assert 'psycopg is not installed: install Nexo with its postgres extra (pip install "nexo[postgres]"' in line
        assert "hunter2" not in line
