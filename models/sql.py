"""Small SQL helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

__all__ = ["insert_ignore"]


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same unique key exists; return True when it was inserted."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # RETURNING tells reliably whether a row went in (rowcount is not portable across drivers).
    key = list(table.primary_key.columns)[0]
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    result = cast(CursorResult[Any], session.execute(stmt))
    return result.first() is not None
