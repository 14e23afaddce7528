"""Small SQL helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import ARRAY, JSON, CursorResult, any_, bindparam, func, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

__all__ = [
    "among", "bulk_delete", "bulk_insert", "bulk_update", "get_plain", "get_plain_many", "ignoring_duplicates",
    "insert_ignore", "one_of", "set_plain",
]

M = TypeVar("M", bound=SQLModel)


@cache
def _statement(dialect: str, model: type[SQLModel]) -> Any:
    # Built once per table and dialect: constructing statements per call is a large share of a request's cost.
    table = model.__table__  # type: ignore[attr-defined]
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table).on_conflict_do_nothing()
    # RETURNING tells reliably whether a row went in (rowcount is not portable across drivers).
    return stmt.returning(list(table.primary_key.columns)[0])


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same unique key exists; return True when it was inserted."""
    result = cast(CursorResult[Any], session.execute(ignoring_duplicates(session, model), values))
    return result.first() is not None


def ignoring_duplicates(session: Session, model: type[SQLModel]) -> Any:
    """The statement `insert_ignore` runs (INSERT … ON CONFLICT DO NOTHING RETURNING the key), to run elsewhere."""
    return _statement(session.get_bind().dialect.name, model)


@cache
def _by_id(model: type[SQLModel]) -> Any:
    table = model.__table__  # type: ignore[attr-defined]
    return select(table).where(table.c.id == bindparam("id"))


def get_plain(session: Session, model: type[M], row_id: int | None) -> M | None:
    """The row `row_id` of `model`'s table as a plain model, not attached to the session.

    Read through Core and built without validation (the stored values are the model's): the worker reads a
    task or an event for every message it sends, and the ORM's identity map and loading cost more than the
    query.
    """
    found = session.connection().execute(_by_id(model), {"id": row_id}).mappings().first()
    return None if found is None else model.model_construct(**found)


def set_plain(plain: SQLModel, **fields: Any) -> None:
    """Change fields of a plain model (from `get_plain`): it has no ORM state, so assignment would fail."""
    vars(plain).update(fields)


@cache
def _by_ids(model: type[SQLModel]) -> Any:
    table = model.__table__  # type: ignore[attr-defined]
    return select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


def get_plain_many(session: Session, model: type[M], row_ids: Sequence[int]) -> dict[int, M]:
    """The rows of `model`'s table among `row_ids`, by id, as plain models (see `get_plain`); one query."""
    if not row_ids:
        return {}
    found = session.connection().execute(_by_ids(model), {"ids": list(row_ids)}).mappings()
    return {int(row["id"]): model.model_construct(**row) for row in found}


# -- many rows as one parameter ---------------------------------------------------------------------
# A batch of thousands of rows costs SQLAlchemy tens of microseconds a row to bind and render; sent as
# one parameter and unpacked by the database (SQLite's json_each, PostgreSQL's json_array_elements), it
# costs a few. A handful of rows (a request's) goes the plain way: a statement built once and cached.
SMALL = 16


@cache
def _plain_insert(dialect: str, model: type[SQLModel], ignore_conflicts: bool, returning: tuple[str, ...]) -> Any:
    table = model.__table__  # type: ignore[attr-defined]
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    if ignore_conflicts:
        stmt = stmt.on_conflict_do_nothing()
    return stmt.returning(*(table.c[n] for n in returning)) if returning else stmt


def bulk_insert(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[Mapping[str, Any]],
    *,
    same: Mapping[str, Any] | None = None,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` (each with the same keys), plus the columns of `same` on every row, in one statement.

    With `ignore_conflicts`, a row whose unique key exists is skipped. Returns the `returning` columns of
    the rows inserted (in no set order).
    """
    if not rows:
        return []
    if len(rows) <= SMALL:
        stmt = _plain_insert(session.get_bind().dialect.name, model, ignore_conflicts, tuple(returning))
        result = session.execute(stmt, [{**row, **(same or {})} for row in rows])
        return [tuple(row) for row in result] if returning else []
    table = model.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    source, params = _rows_source(session, table, names, rows)
    fixed = dict(same or {})
    for i, (name, value) in enumerate(fixed.items()):
        params[f"s{i}"] = bindparam(f"s{i}", value, type_=table.c[name].type)
    picked = [f"x.c{i}" for i in range(len(names))] + [f":s{i}" for i in range(len(fixed))]
    sql = (f"INSERT INTO {table.name} ({', '.join(_quoted(session, n) for n in [*names, *fixed])}) "
           f"SELECT {', '.join(picked)} FROM {source}")
    if ignore_conflicts:
        # SQLite needs a WHERE here, or it reads ON CONFLICT as part of a join.
        sql += " WHERE true ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(_quoted(session, n) for n in returning)}"
    result = session.execute(text(sql).bindparams(*params.values()))
    return [tuple(row) for row in result] if returning else []


def bulk_update(
    session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]], *, match: Sequence[str],
    returning: Sequence[str] = (), same: Mapping[str, Any] | None = None, where: Mapping[str, Any] | None = None,
    increment: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Update many rows in one statement: each row of `rows` names the row to change by its `match`
    columns (all must be equal) and gives the new values of its other columns; `same` gives values set on
    every row, `where` values every changed row must hold already, and each of `increment` goes up by one.
    Returns the `returning` columns of the rows changed (in no set order): a row whose `match` columns
    (or `where`) no longer agree is not."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    source, params = _rows_source(session, table, names, rows)
    column = {n: f"{table.name}.{_quoted(session, n)}" for n in table.c.keys()}
    changes = [f"{_quoted(session, n)} = x.c{i}" for i, n in enumerate(names) if n not in match]
    changes += [f"{_quoted(session, n)} = {column[n]} + 1" for n in increment]
    conditions = [f"{column[n]} = x.c{names.index(n)}" for n in match]
    if session.get_bind().dialect.name == "postgresql":
        # The first match column's values once more, as an array the planner looks up through its index:
        # from the FROM item alone it guesses 100 rows and hash-joins a scan of the whole table. (Not on
        # SQLite: there the list became the outer loop, with the FROM item scanned for every row.)
        lookup, params["keys"] = among(session, "keys", [row[match[0]] for row in rows])
        conditions.append(f"{column[match[0]]} {lookup}")
    for i, (name, value) in enumerate((same or {}).items()):
        params[f"s{i}"] = bindparam(f"s{i}", value, type_=table.c[name].type)
        changes.append(f"{_quoted(session, name)} = :s{i}")
    for i, (name, value) in enumerate((where or {}).items()):
        params[f"w{i}"] = bindparam(f"w{i}", value, type_=table.c[name].type)
        conditions.append(f"{column[name]} = :w{i}")
    sql = f"UPDATE {table.name} SET {', '.join(changes)} FROM {source} WHERE {' AND '.join(conditions)}"
    if returning:
        sql += f" RETURNING {', '.join(f'{table.name}.{_quoted(session, n)}' for n in returning)}"
    result = session.execute(text(sql).bindparams(*params.values()))
    return [tuple(row) for row in result] if returning else []


def bulk_delete(
    session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]], *, returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Delete, in one statement, each row that agrees with one of `rows` on every column `rows` name.
    Returns the `returning` columns of the rows deleted (in no set order)."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    names = list(rows[0])
    source, params = _rows_source(session, table, names, rows)
    where = " AND ".join(f"{table.name}.{_quoted(session, n)} = x.c{i}" for i, n in enumerate(names))
    sql = f"DELETE FROM {table.name} WHERE EXISTS (SELECT 1 FROM {source} WHERE {where})"
    if returning:
        sql += f" RETURNING {', '.join(f'{table.name}.{_quoted(session, n)}' for n in returning)}"
    result = session.execute(text(sql).bindparams(*params.values()))
    return [tuple(row) for row in result] if returning else []


def _rows_source(
    session: Session, table: Any, names: list[str], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """A FROM item `x` with columns c0, c1, … holding `rows`' values of `names`, and its one parameter.

    The rows travel as one JSON document: each value as SQLAlchemy would have bound it (text for
    SQLite's dates), JSON columns (objects or arrays) nested as they are.
    """
    dialect = session.get_bind().dialect
    columns = [[row[n] for row in rows] for n in names]
    for i, name in enumerate(names):
        kind = table.c[name].type
        if not isinstance(kind, JSON) and (processor := kind.dialect_impl(dialect).bind_processor(dialect)):
            columns[i] = [processor(v) for v in columns[i]]
    doc = json.dumps(list(zip(*columns, strict=True)), separators=(",", ":"), default=_json_value)
    if dialect.name == "postgresql":
        picks = ", ".join(
            f"CAST(value->>{i} AS {table.c[n].type.compile(dialect=dialect)}) AS c{i}"
            if not isinstance(table.c[n].type, JSON) else f"value->{i} AS c{i}"
            for i, n in enumerate(names)
        )
        return f"(SELECT {picks} FROM json_array_elements(CAST(:rows AS JSON)) AS value) AS x", {
            "rows": bindparam("rows", doc)
        }
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS c{i}" for i in range(len(names)))
    return f"(SELECT {picks} FROM json_each(:rows)) AS x", {"rows": bindparam("rows", doc)}


def among(session: Session, name: str, values: Sequence[str | int]) -> tuple[str, Any]:
    """A condition "`name` is one of `values`" for a text() statement, and its one parameter (`:name`):
    hundreds of values as one array, not one placeholder each (which SQLAlchemy renders on every call)."""
    if session.get_bind().dialect.name == "postgresql":
        return f"= ANY(:{name})", bindparam(name, list(values))
    return f"IN (SELECT value FROM json_each(:{name}))", bindparam(name, json.dumps(list(values)))


def one_of(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """The Core condition "`column` is one of `values`", as `among` is for text(): one array parameter on
    PostgreSQL (not a placeholder per value, which SQLAlchemy renders and psycopg parses afresh on every
    call), a JSON one unpacked by `json_each` on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(list(values)))))


def _json_value(value: Any) -> Any:
    # Dates PostgreSQL reads back exactly (ISO 8601 with the offset); SQLite's are text already.
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _quoted(session: Session, name: str) -> str:
    return str(session.get_bind().dialect.identifier_preparer.quote(name))
