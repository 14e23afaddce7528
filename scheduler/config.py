"""What the jobs need to know about the team: lead times, graces, default hours, managers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.tables import Person
from models.worktime import WorkWeek, from_dict

__all__ = ["JobConfig"]


@dataclass(frozen=True)
class JobConfig:
    """Tunable rules of the scheduler (working-time durations count only working hours)."""

    reminder_leads: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    overdue_grace: timedelta = timedelta(hours=4)
    unclaimed_after: timedelta = timedelta(hours=2)
    unclaimed_escalate_after: timedelta = timedelta(hours=4)
    # How long before its due time a recurring task's instance is created.
    recurring_lead: timedelta = timedelta(days=1)
    default_hours: dict[str, Any] = field(default_factory=dict)
    managers: frozenset[str] = frozenset()
    # Retention: sent outbox rows; processed-event keys and digest runs (scheduler/retention.py).
    keep_outbox: timedelta = timedelta(days=7)
    keep_events: timedelta = timedelta(days=30)

    def week(self, person: Person | None, tz: str | None = None) -> WorkWeek:
        """A person's working week: their own hours if set, else the workspace default, in their zone."""
        zone = _zone(tz or (person.tz if person else "UTC"))
        for hours in (person.hours if person is not None else None, self.default_hours):
            if hours:
                try:
                    return from_dict(hours, zone)
                except ValueError:  # a damaged stored week must not stop the jobs: fall back
                    continue
        return WorkWeek(tz=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
