"""Small SQL helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

__all__ = ["insert_ignore", "insert_ignore_many"]


@cache
def _statement(dialect: str, model: type[SQLModel], returning: bool) -> Any:
    # Built once per table and dialect: constructing statements per call is a large share of a request's cost.
    table = model.__table__  # type: ignore[attr-defined]
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table).on_conflict_do_nothing()
    if returning:
        # RETURNING tells reliably whether a row went in (rowcount is not portable across drivers).
        stmt = stmt.returning(list(table.primary_key.columns)[0])
    return stmt


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same unique key exists; return True when it was inserted."""
    stmt = _statement(session.get_bind().dialect.name, model, True)
    result = cast(CursorResult[Any], session.execute(stmt, values))
    return result.first() is not None


def insert_ignore_many(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows in one statement, skipping any whose unique key exists already."""
    if rows:
        session.execute(_statement(session.get_bind().dialect.name, model, False), list(rows))
