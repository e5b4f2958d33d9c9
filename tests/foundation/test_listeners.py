"""One hop from any click to its code: every button, submittable form, shortcut and subcommand the bot
can put in front of someone has exactly one listener in the table (``bot.handlers.LISTENERS``), and
every row of the table is named by a constant of a domain's ``ids`` module.

What the bot can show is read from its source, not listed by hand: a button is a ``button(label,
ids.X, ...)`` call (or a ``{"type": "button", "action_id": ids.X}`` literal), a submittable form is a
``modal(ids.X, ..., submit=...)`` call, a shortcut is in ``manifest.json``. So a new button without a
listener, or a listener whose button is gone, fails here.
"""

from __future__ import annotations

import ast
import importlib
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.handlers import LISTENERS
from bot.slack.listeners import Action, Commands, Event, Shortcut, Subcommand, View

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("approvals", "crises", "plans", "tracking")


def ids_constants() -> dict[str, str]:
    """value -> "domain.NAME" for every string constant of every domain's ids module."""
    found: dict[str, str] = {}
    for domain in DOMAINS:
        module = importlib.import_module(f"bot.{domain}.ids")
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str):
                found.setdefault(value, f"{domain}.{name}")
    return found


def _constant(node: ast.AST, constants: dict[str, dict[str, str]], module: str) -> str | None:
    """The value of ``ids.X`` (or ``x_ids.X``) as used in ``module``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        values = constants.get(node.value.id)
        if values is not None:
            return values.get(node.attr)
    return None


def shown_by_the_bot() -> tuple[set[str], set[str]]:
    """(button action ids, submittable form callback ids) found in bot/ by reading the source."""
    buttons: set[str] = set()
    forms: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "fakeslack" in path.parts or "devtools" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Which local names are ids modules: `from bot.x import ids` / `from bot.x import ids as y_ids`.
        constants: dict[str, dict[str, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot."):
                for alias in node.names:
                    if alias.name == "ids":
                        module = importlib.import_module(f"{node.module}.ids")
                        constants[alias.asname or "ids"] = {
                            k: v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)
                        }
        if not constants:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name.endswith("button") and len(node.args) >= 2:
                    value = _constant(node.args[1], constants, str(path))
                    if value:
                        buttons.add(value)
                if name.endswith("modal") and node.args and any(k.arg == "submit" for k in node.keywords):
                    value = _constant(node.args[0], constants, str(path))
                    if value:
                        forms.add(value)
            if isinstance(node, ast.Dict):
                pairs = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}
                kind = pairs.get("type")
                if isinstance(kind, ast.Constant) and kind.value == "button" and "action_id" in pairs:
                    value = _constant(pairs["action_id"], constants, str(path))
                    if value:
                        buttons.add(value)
    return buttons, forms


def registered(kind: type) -> Counter[str]:
    key = {Action: "action_id", View: "callback_id", Shortcut: "callback_id"}[kind]
    return Counter(getattr(r, key) for r in LISTENERS if isinstance(r, kind))


def test_every_button_has_exactly_one_listener_and_every_listener_a_button():
    buttons, _ = shown_by_the_bot()
    actions = registered(Action)
    assert [a for a, n in actions.items() if n > 1] == [], "an action id registered twice"
    assert buttons - set(actions) == set(), "buttons nobody listens to"
    assert set(actions) - buttons == set(), "listeners of buttons the bot never shows"


def test_every_form_has_exactly_one_listener():
    _, forms = shown_by_the_bot()
    views = registered(View)
    assert [v for v, n in views.items() if n > 1] == [], "a callback id registered twice"
    assert forms == set(views)


def test_every_shortcut_of_the_manifest_has_exactly_one_listener():
    manifest = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    declared = {s["callback_id"] for s in manifest["features"].get("shortcuts", [])}
    shortcuts = registered(Shortcut)
    assert [s for s, n in shortcuts.items() if n > 1] == []
    assert declared == set(shortcuts)


def test_every_listener_is_named_by_an_ids_constant():
    constants = ids_constants()
    for reg in LISTENERS:
        if isinstance(reg, Action | View | Shortcut):
            key = reg.action_id if isinstance(reg, Action) else reg.callback_id
            assert key in constants, f"{key!r} is a string literal: name it in the domain's ids.py"


def test_every_subcommand_and_alias_is_registered_once_and_documented():
    commands = Commands([r for r in LISTENERS if isinstance(r, Subcommand)])  # raises on a duplicate name
    for sub in commands.subcommands:
        assert sub.help, f"/nexo {sub.name} has no line in /nexo help"
        assert any(f"/nexo {sub.name}" in usage for usage, _ in sub.help), sub.name


@pytest.mark.parametrize("reg", [r for r in LISTENERS], ids=lambda r: type(r).__name__)
def test_every_listener_is_a_top_level_function_of_a_handlers_module(reg):
    fn = reg.fn
    assert fn.__module__.startswith("bot.handlers."), fn
    assert "<locals>" not in fn.__qualname__ and "." not in fn.__qualname__, f"{fn.__qualname__} is nested"
    assert isinstance(reg, Action | View | Shortcut | Event | Subcommand)


def test_handlers_open_no_transaction_and_catch_nothing_broadly():
    """The frame (bot.slack.listeners) owns the unit of work and the error wrapper."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "handlers").glob("*.py")}
    assert sum(s.count("db.transaction()") for s in sources.values()) <= 3
    assert sum(s.count("except Exception") + s.count("except BaseException") for s in sources.values()) <= 2
