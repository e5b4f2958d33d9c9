"""Status machines, declared once: a table of allowed moves and one conditional UPDATE that obeys it.

Each domain declares its moves as ``{from_status: {to_status, ...}}`` next to its model and writes
every status change through :func:`move`. The UPDATE re-reads the status in its own ``WHERE``, so a
double click, a retried delivery or two workers at once change a row once: the loser's UPDATE
matches nothing and :func:`move` says so (False), by construction rather than by a check beforehand.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import InstrumentedAttribute, Session

S = TypeVar("S")

Transitions = Mapping[S, Collection[S]]


def sources(table: Transitions[S], to: S, *, narrowed_to: Iterable[S] | None = None) -> list[S]:
    """The statuses ``table`` lets a row leave for ``to`` (only those of ``narrowed_to``, when given).

    Asking for a move the table does not declare is a bug, whatever the row holds: ValueError.
    """
    allowed = [status for status, targets in table.items() if to in targets]
    if narrowed_to is not None:
        wanted = list(narrowed_to)
        undeclared = [s for s in wanted if s not in allowed]
        if undeclared:
            raise ValueError(f"no transition from {undeclared} to {to}")
        allowed = wanted
    if not allowed:
        raise ValueError(f"no status may become {to}")
    return allowed


def guard(column: Any, table: Transitions[S], to: S, *, narrowed_to: Iterable[S] | None = None) -> ColumnElement[bool]:
    """The ``WHERE`` term of a move to ``to``: ``column`` holds a status it may leave for ``to``
    (an ORM attribute or a Core column: a statement built once can carry it)."""
    allowed = sources(table, to, narrowed_to=narrowed_to)
    return column == allowed[0] if len(allowed) == 1 else column.in_(allowed)


def move(
    session: Session,
    column: InstrumentedAttribute[Any],
    row_id: int,
    to: S,
    table: Transitions[S],
    *,
    narrowed_to: Iterable[S] | None = None,
    where: Iterable[ColumnElement[bool]] = (),
    **values: Any,
) -> bool:
    """Set ``column`` to ``to`` (and ``values``) on row ``row_id`` of its model, in one UPDATE that
    only matches while the row is in a status ``table`` allows ``to`` from, and ``where`` holds.
    Returns whether this call made the change."""
    model = column.class_
    result = session.execute(
        update(model)
        .where(model.id == row_id, guard(column, table, to, narrowed_to=narrowed_to), *where)
        .values({column.key: to, **values})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
