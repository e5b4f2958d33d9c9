"""`python -m bot demo` runs start to finish with no workspace and tells a readable story."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_runs_without_any_configuration(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    r = subprocess.run([sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    assert "Client *Acme* is set up" in out
    assert "ACME-1 (version 2) was approved by @ana" in out  # a draft approved after one round of changes
    assert "friendly reminder: ACME-Q1" in out and "Can you help?" in out  # reminded, then escalated
    assert "answered your question ACME-Q1" in out
    assert "acknowledged the crisis for *Acme*" in out
    assert "Traceback" not in out + r.stderr
    assert "Demo finished" in out
    assert not list(tmp_path.iterdir())  # throwaway database: nothing left behind


def test_demo_in_spanish(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bot", "demo", "--lang", "es"], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "El cliente *Acme* está dado de alta" in r.stdout
