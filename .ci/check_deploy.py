"""The deployment files name what exists: run by .ci/check-deploy (the .venv's python, from the repository root).

- compose.yaml parses; its services are PostgreSQL, a one-shot migrate, web and worker; every service's
  command is ``python -m bot SUBCOMMAND ...`` that ``python -m bot`` accepts; every health check that runs
  ``python -m MODULE`` names a module that exists; web and worker wait for the migration; the database has a
  named volume.
- The Procfile's and the Dockerfile's commands are ``python -m bot`` commands that parse.
- The locks pin every dependency pyproject.toml declares (run scripts/lock after changing one).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

from bot.__main__ import _parser, subcommands

ROOT = Path(__file__).resolve().parents[1]
problems: list[str] = []


def check_bot_command(where: str, argv: list[str]) -> None:
    if argv[:3] != ["python", "-m", "bot"] or len(argv) < 4:
        problems.append(f"{where}: {' '.join(argv)!r} is not `python -m bot SUBCOMMAND`")
        return
    if argv[3] not in subcommands():
        problems.append(f"{where}: `python -m bot {argv[3]}` is not a subcommand (known: {', '.join(subcommands())})")
        return
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # argparse's usage text: the line below says it
            _parser().parse_args(argv[3:])
    except SystemExit:
        problems.append(f"{where}: `python -m bot` refuses the arguments {argv[3:]}")


def check_module_command(where: str, argv: list[str]) -> None:
    if argv[:2] == ["python", "-m"] and len(argv) > 2 and importlib.util.find_spec(argv[2]) is None:
        problems.append(f"{where}: module {argv[2]} does not exist")


def check_compose() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose.get("services") or {}
    missing = {"postgres", "migrate", "web", "worker"} - set(services)
    if missing:
        problems.append(f"compose.yaml: no service {', '.join(sorted(missing))}")
    for name, service in services.items():
        command = service.get("command")
        if "build" in service or str(service.get("image", "")).startswith("nexo"):  # Nexo's image, not PostgreSQL
            if not isinstance(command, list):
                problems.append(f"compose.yaml: service {name}: give the command as a list: [python, -m, bot, ...]")
            else:
                check_bot_command(f"compose.yaml: service {name}", [str(a) for a in command])
        test = (service.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test[:1] == ["CMD"]:
            check_module_command(f"compose.yaml: service {name} healthcheck", [str(a) for a in test[1:]])
    for name in ("web", "worker"):
        waits = ((services.get(name) or {}).get("depends_on") or {}).get("migrate", {})
        if waits.get("condition") != "service_completed_successfully":
            problems.append(f"compose.yaml: {name} must wait for migrate (condition: service_completed_successfully)")
    volumes = set(compose.get("volumes") or {})
    mounted = {str(v).split(":", 1)[0] for v in (services.get("postgres") or {}).get("volumes", [])}
    if not volumes & mounted:
        problems.append("compose.yaml: PostgreSQL's data is not on a named volume")


def check_procfile_and_dockerfile() -> None:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            kind, _, command = line.partition(":")
            check_bot_command(f"Procfile: {kind}", command.split())
    dockerfile = (ROOT / "Dockerfile").read_text()
    for instruction, args in re.findall(r"^(CMD|HEALTHCHECK[^\n]*?CMD)\s+(\[.*\])\s*$", dockerfile, re.M):
        argv = json.loads(args)
        if instruction == "CMD":
            check_bot_command("Dockerfile: CMD", argv)
        else:
            check_module_command("Dockerfile: HEALTHCHECK", argv)


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group()).lower()


def _pinned(lock: str) -> set[str]:
    return {_name(line) for line in (ROOT / lock).read_text().splitlines() if re.match(r"[A-Za-z0-9].*==", line)}


def check_locks() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    deploy = [*project["dependencies"], *extras.get("postgres", []), *extras.get("charts", [])]
    for lock, wanted in (("requirements.lock", deploy), ("requirements-dev.lock", [*deploy, *extras.get("dev", [])])):
        absent = sorted({_name(r) for r in wanted} - _pinned(lock))
        if absent:
            problems.append(f"{lock} lacks {', '.join(absent)}: run scripts/lock")


check_compose()
check_procfile_and_dockerfile()
check_locks()
for problem in problems:
    print(problem, file=sys.stderr)
if not problems:
    print("deploy files: ok")
sys.exit(1 if problems else 0)
