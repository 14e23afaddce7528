"""Factories for domain objects used across tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.db import Database
from models.tables import Task
from models.tasks import NewTask, create_task

TEAM = "T0001"


def new_task(**overrides: Any) -> NewTask:
    """A NewTask with sensible defaults; keyword arguments override fields."""
    fields: dict[str, Any] = {
        "team_id": TEAM,
        "requester_id": "URITA",
        "title": "Reconcile October invoices",
        "origin_channel_id": "CGENERAL",
        "card_channel_id": "CGENERAL",
        "assignee_id": "UANA",
    }
    fields.update(overrides)
    return NewTask(**fields)


def make_task(db: Database, now: datetime, **overrides: Any) -> Task:
    """Create a task in its own transaction and return it."""
    with db.transaction() as session:
        return create_task(session=session, request=new_task(**overrides), now=now)
