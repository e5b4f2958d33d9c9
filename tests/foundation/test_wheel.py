"""An installed wheel migrates from any directory: the migrations and their configuration ship inside it.

The wheel is built from this checkout and installed, without its dependencies, into a new virtualenv outside
it; the dependencies come from the test run's own environment through a ``.pth`` line (a plain path entry:
the editable install of the checkout is not visible through it), so the test needs no network. A test of the
installed wheel with its dependencies resolved afresh is the README's install commands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.db import SCHEMA_HEAD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The python of a fresh venv holding only the wheel built from this checkout (and a path to the deps)."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(base / "dist"),
        ],
        check=True,
        capture_output=True,
        cwd=base,
    )
    wheel = next((base / "dist").glob("nexo-*.whl"))
    target = base / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        cwd=base,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "nexo_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _run(python: Path, *args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "PYTHON"))}
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=120, cwd=cwd, env={**clean, **env}
    )


def test_the_wheel_is_what_runs(installed_wheel, tmp_path):
    code = "import json, bot, bot.migrate as m; print(json.dumps([bot.__file__, str(m.MIGRATIONS_DIR)]))"
    r = _run(installed_wheel, "-c", code, cwd=tmp_path, env={})
    assert r.returncode == 0, r.stderr
    module, migrations = json.loads(r.stdout)
    assert str(installed_wheel.parents[1]) in module and str(ROOT) not in module
    assert Path(migrations, "env.py").is_file() and Path(migrations, "script.py.mako").is_file()


def test_an_installed_wheel_migrates_sqlite_from_any_directory(installed_wheel, tmp_path):
    r = _run(installed_wheel, "-m", "bot", "migrate", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/w.db"})
    assert r.returncode == 0, r.stderr
    engine = create_engine(f"sqlite:///{tmp_path}/w.db")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
    engine.dispose()


def test_an_installed_wheel_migrates_postgresql(installed_wheel, tmp_path):
    from tests.foundation.test_cli import _empty_pg_schema

    url, drop = _empty_pg_schema()
    if url is None:
        pytest.skip("needs TEST_DATABASE_URL (PostgreSQL)")
    try:
        r = _run(installed_wheel, "-m", "bot", "migrate", cwd=tmp_path, env={"DATABASE_URL": url})
        assert r.returncode == 0, r.stderr
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
        engine.dispose()
    finally:
        drop()
