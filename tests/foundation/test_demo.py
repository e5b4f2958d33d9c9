"""`python -m bot demo` plays a working week with no workspace, in English and Spanish, in under 300 lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_LINES = 300
# Words of English prose that no Spanish sentence of Nexo contains (commands typed by people are left out).
CLOCK_LINE = re.compile(r"^\[[^\]]+\] ⏰", re.MULTILINE)
ENGLISH = re.compile(r"\b(the|is|was|and|you|your|with|for|has|been|to|of|in|on|at|by|this|will|from)\b")


def play(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    r = subprocess.run(
        [sys.executable, "-m", "bot", "demo", *args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Traceback" not in r.stdout + r.stderr
    assert len(r.stdout.splitlines()) < MAX_LINES, f"{len(r.stdout.splitlines())} lines"
    return r.stdout


def after(out: str, clock_line: str, expected: str) -> bool:
    """``expected`` is in what Nexo sent right after the clock line ``clock_line`` (before the next one)."""
    start = out.index(clock_line) + len(clock_line)
    following = CLOCK_LINE.search(out, start)
    return expected in out[start : following.start() if following else None]


def chart_written(out: str, words: str) -> Path:
    [path] = re.findall(rf"{words} (/\S+/response-times-\S+\.png)\)", out)  # the chart (not the post's image)
    chart = Path(path)
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    return chart


def test_the_week_in_english(tmp_path):
    out = play(tmp_path)
    assert "Client *Acme* is set up" in out
    assert "ACME-1 (version 2) was approved by @ana" in out  # a draft approved after one round of changes
    assert "ACME-2 created. Its category is pre-approved" in out
    assert after(out, "[Mon 12:00] ⏰", "reminder: ACME-Q1 is due")
    assert after(out, "[Mon 13:00] ⏰", "ACME-Q1 for *Acme* has been waiting on @ana")  # the backup is asked
    assert after(out, "[Mon 17:00] ⏰", "ACME-Q1 for *Acme* is overdue")  # the lead, after the lunch break
    assert "will reply to ACME-Q2 by Tue 24 Nov, 17:00" in out and "answered your question ACME-Q2" in out
    assert "*Promises* / 1 kept, 0 broken" in out  # the promise was kept
    assert "clicks [Send for approval]" in out and "<image: black-friday.png>" in out  # a post with its image
    assert after(out, "[Wed 13:00] ⏰", "You can stand in for them")  # the backup gets the card itself
    assert "was approved by @bruno (client backup), standing in for @ana (client, Acme)" in out
    assert "2 posts held in Nexo (ACME-1, ACME-3)" in out and "held: the client is in a crisis" in out
    assert "acknowledged the crisis for *Acme*" in out and "[3 of 3 steps done]" in out
    assert "CRISIS TIMELINE: ACME" in out
    assert "released the held posts of *Acme*: ACME-1, ACME-3" in out
    assert "Home tab of luis (account lead):" in out and "WAITING ON YOU" in out
    assert "Demo finished" in out

    chart = chart_written(out, "written to")  # no --out: a temp dir the transcript names
    assert not chart.is_relative_to(tmp_path)
    shutil.rmtree(chart.parent)
    assert not list(tmp_path.iterdir())  # throwaway database: nothing left behind


def test_the_week_in_spanish_with_the_chart_where_asked(tmp_path):
    out = play(tmp_path, "--lang", "es", "--out", "charts")
    assert "El cliente *Acme* está dado de alta" in out
    assert "ACME-2 creado. Su categoría está preaprobada" in out
    assert after(out, "[lun 12:00] ⏰", "te recuerdo que el plazo de ACME-Q1 vence")
    assert after(out, "[lun 17:00] ⏰", "ACME-Q1 de *Acme* está fuera de plazo")
    assert "responderá a ACME-Q2 antes de mar 24 nov, 17:00" in out and "*Promesas* / 1 cumplidas" in out
    assert "pulsa [Enviar a aprobación]" in out and "<image: black-friday.png>" in out
    assert "aprobó ACME-3 (versión 1) en lugar de @ana (cliente, Acme)" in out
    assert "[3 de 3 pasos hechos]" in out and "CRONOLOGÍA DE LA CRISIS: ACME" in out
    assert "ha liberado las publicaciones retenidas de *Acme*: ACME-1, ACME-3" in out
    assert "Pestaña Inicio de luis (responsable de cuenta):" in out
    assert "Fin de la demo" in out

    chart = chart_written(out, "guardada en")
    assert chart.parent == tmp_path / "charts" and [p.name for p in tmp_path.iterdir()] == ["charts"]
    # What people type stays as typed, and file paths are the machine's.
    prose = [re.sub(r"/\S+", "", line) for line in out.splitlines() if ": /nexo " not in line]
    assert [line for line in prose if ENGLISH.search(line)] == []
