"""Scheduler jobs at chosen instants, against real databases: what is owed, once, in everyone's own time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from models.db import Database
from models.enums import WorkspaceRole
from models.people import Actor, PersonInfo, save_person
from models.recurrence import split_recurrence
from models.schedule import create_recurring, set_digest, snooze_task
from models.tables import Outbox, Task, TaskEvent
from models.tasks import claim_task
from scheduler.config import JobConfig
from scheduler.jobs import run_all, run_digests, run_recurring, run_sweep
from tests.factories import TEAM, make_task, new_task

CONFIG = JobConfig(managers=frozenset({"UMIA"}))
WED_15 = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # Wednesday; 10:00 in New York, 15:00 in London
FRI_DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # Friday 17:00 in New York


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def people(db: Database) -> None:
    with db.transaction() as s:
        for user, name, tz in [("URITA", "rita", "America/New_York"), ("UANA", "ana", "Europe/London"),
                               ("UBEN", "ben", "Asia/Kolkata"), ("UMIA", "mia", "America/Chicago")]:
            save_person(s, team_id=TEAM, info=PersonInfo(user_id=user, name=name, tz=tz), now=WED_15)


def run(db: Database, job: Any, now: datetime) -> Any:
    """A job that works in the caller's transaction (the digest)."""
    with db.transaction() as s:
        return job(s, now, CONFIG)


def go(db: Database, job: Any, now: datetime) -> Any:
    """A job that runs its own transactions (the sweep, recurring tasks)."""
    return job(db, now, CONFIG)


def dms(db: Database, kind: str) -> list[tuple[str, str]]:
    """(recipient, event kind) of the DMs queued for scheduler events of `kind`."""
    with db.transaction() as s:
        rows = s.exec(select(Outbox).where(Outbox.kind == "dm").order_by(col(Outbox.id))).all()
        out = []
        for row in rows:
            event = s.get(TaskEvent, row.payload["event_id"])
            if event is not None and event.kind == kind:
                out.append((row.payload["user"], event.detail.get("lead", "")))
        return out


@pytest.mark.usefixtures("people")
def test_due_soon_reminders_land_in_working_hours_once_per_lead(db: Database) -> None:
    make_task(db, WED_15, due_at=FRI_DUE)
    # 24 h before is Thursday 22:00 in London, after Ana's day: it waits for Friday 09:00 London.
    assert go(db, run_sweep, utc("2026-11-26T22:00")).reminders == 0
    assert go(db, run_sweep, utc("2026-11-27T08:59")).reminders == 0
    assert go(db, run_sweep, utc("2026-11-27T09:00")).reminders == 1
    assert go(db, run_sweep, utc("2026-11-27T09:00")).reminders == 0  # same instant again: nothing
    # 1 h before (21:00 London) is off hours too, but her next morning is after the due time: keep 21:00.
    assert go(db, run_sweep, utc("2026-11-27T20:59")).reminders == 0
    assert go(db, run_sweep, utc("2026-11-27T21:00")).reminders == 1
    assert dms(db, "reminder") == [("UANA", 86400), ("UANA", 3600)]


@pytest.mark.usefixtures("people")
def test_no_reminder_for_a_lead_that_had_passed_when_the_task_was_made(db: Database) -> None:
    make_task(db, utc("2026-11-27T19:00"), due_at=FRI_DUE)
    assert go(db, run_sweep, utc("2026-11-27T21:00")).reminders == 1
    assert dms(db, "reminder") == [("UANA", 3600)]


@pytest.mark.usefixtures("people")
def test_after_downtime_only_the_nearest_reminder_is_sent(db: Database) -> None:
    make_task(db, WED_15, due_at=FRI_DUE)
    assert go(db, run_sweep, utc("2026-11-27T21:30")).reminders == 1
    assert go(db, run_sweep, utc("2026-11-27T21:31")).reminders == 0
    assert dms(db, "reminder") == [("UANA", 3600)]


@pytest.mark.usefixtures("people")
def test_overdue_then_escalation_once_per_working_day(db: Database) -> None:
    task = make_task(db, WED_15, due_at=FRI_DUE)
    report = go(db, run_sweep, FRI_DUE)
    assert report.overdue == 1 and report.escalations == 0
    with db.transaction() as s:
        queued = s.exec(select(Outbox).where(Outbox.task_id == task.id, Outbox.created_at == FRI_DUE)).all()
    # The overdue line in the card's thread refreshes the card too (its "overdue" mark): one row for both.
    assert sorted(o.kind for o in queued) == ["dm", "thread.note"]
    assert [o.payload.get("refresh_card") for o in queued if o.kind == "thread.note"] == [True]
    # Grace: 4 working hours of Ana's (London) week after Friday 22:00 -> Monday 13:00 London = 13:00 UTC.
    assert go(db, run_sweep, utc("2026-11-30T12:59")).escalations == 0
    assert go(db, run_sweep, utc("2026-11-30T13:00")).escalations == 1
    assert go(db, run_sweep, utc("2026-11-30T16:00")).escalations == 0  # once that day
    assert go(db, run_sweep, utc("2026-12-01T08:00")).escalations == 0  # before her day starts
    assert go(db, run_sweep, utc("2026-12-01T09:00")).escalations == 1  # the next working day
    assert sorted(r for r, _ in dms(db, "escalated")) == ["UMIA", "UMIA", "URITA", "URITA"]
    assert dms(db, "overdue") == [("UANA", "")]


@pytest.mark.usefixtures("people")
def test_snooze_holds_reminders_but_never_moves_the_due_date(db: Database) -> None:
    task = make_task(db, WED_15, due_at=FRI_DUE)
    with db.transaction() as s:
        snooze_task(session=s, team_id=TEAM, number=task.number, actor=Actor("UANA"),
                    until=utc("2026-11-27T21:30"), now=utc("2026-11-27T08:00"))
    assert go(db, run_sweep, utc("2026-11-27T09:00")).reminders == 0
    assert go(db, run_sweep, utc("2026-11-27T21:00")).reminders == 0
    assert go(db, run_sweep, utc("2026-11-27T21:30")).reminders == 1
    with db.transaction() as s:
        assert s.get(Task, task.id).due_at == FRI_DUE  # type: ignore[union-attr]
        refreshes = s.exec(select(Outbox).where(col(Outbox.key).startswith(f"card.unsnooze:{task.id}:"))).all()
        assert len(refreshes) == 1  # the card loses its snooze note once, after the snooze


@pytest.mark.usefixtures("people")
def test_unclaimed_pool_task_is_nudged_then_escalated_in_working_hours(db: Database) -> None:
    claimed = make_task(db, WED_15, assignee_id=None)
    make_task(db, WED_15, assignee_id="UANA")  # Ana has taken work before: she is an assistant
    pooled = make_task(db, utc("2026-11-25T14:00"), assignee_id=None)
    with db.transaction() as s:
        claim_task(session=s, team_id=TEAM, number=claimed.number, actor=Actor("UBEN"), now=WED_15)
    # Rita (New York) works 09:00-17:00 = 14:00-22:00 UTC: 2 working hours after 14:00 UTC is 16:00 UTC.
    assert go(db, run_sweep, utc("2026-11-25T15:59")).nudges == 0
    report = go(db, run_sweep, utc("2026-11-25T16:00"))
    assert report.nudges == 1 and report.escalations == 0
    with db.transaction() as s:
        nudge = s.exec(select(TaskEvent).where(TaskEvent.kind == "nudged")).one()
        assert nudge.task_id == pooled.id
        # Ana is at work in London at 16:00 UTC; Ben (Kolkata, 21:30) is not.
        assert nudge.detail["assistants"] == ["UANA"]
    # The claimed task was created at 15:00: its nudge (17:00) is never owed, it left the pool.
    assert go(db, run_sweep, utc("2026-11-25T17:59")).escalations == 0
    assert go(db, run_sweep, utc("2026-11-25T18:00")).escalations == 1
    assert dms(db, "unclaimed") == [("UMIA", "")]
    assert go(db, run_sweep, utc("2026-11-26T19:00")).escalations == 0


@pytest.mark.usefixtures("people")
def test_recurring_instance_appears_a_day_ahead_and_a_missed_run_is_made_once(db: Database) -> None:
    from zoneinfo import ZoneInfo

    title, rule = split_recurrence("Send payroll report every Monday 9am")
    assert rule is not None
    with db.transaction() as s:
        recurring = create_recurring(
            session=s, request=new_task(title=title), rule=rule, tz=ZoneInfo("America/New_York"), now=WED_15
        )
        assert recurring.next_at == utc("2026-11-30T14:00")  # Monday 09:00 in New York
    assert go(db, run_recurring, utc("2026-11-29T13:59")).created == 0
    assert go(db, run_recurring, utc("2026-11-29T14:00")).created == 1
    assert go(db, run_recurring, utc("2026-11-29T14:05")).created == 0
    # Down for three weeks: one instance for the latest Monday, not three.
    assert go(db, run_recurring, utc("2026-12-22T12:00")).created == 1
    with db.transaction() as s:
        due = [t.due_at for t in s.exec(select(Task).order_by(col(Task.id)))]
    assert due == [utc("2026-11-30T14:00"), utc("2026-12-21T14:00")]


def _digest_setup(db: Database, at: str = "09:00", *, now: datetime = datetime(2026, 1, 5, tzinfo=UTC)) -> None:
    from datetime import time as clock_time

    hour, minute = (int(x) for x in at.split(":"))
    with db.transaction() as s:
        set_digest(session=s, team_id=TEAM, channel_id="CDIGEST", actor=Actor("UMIA", WorkspaceRole.MANAGER),
                   at=clock_time(hour, minute),
                   tz="America/New_York", hours={}, now=now)


def _digests(db: Database) -> list[Outbox]:
    with db.transaction() as s:
        return list(s.exec(select(Outbox).where(Outbox.kind == "digest.post").order_by(col(Outbox.id))))


@pytest.mark.usefixtures("people")
def test_digest_once_per_local_working_day_across_dst(db: Database) -> None:
    _digest_setup(db)
    # Friday 30 Oct 2026 is still EDT (UTC-4): 09:00 is 13:00 UTC.
    assert run(db, run_digests, utc("2026-10-30T12:59")).digests == 0
    assert run(db, run_digests, utc("2026-10-30T13:00")).digests == 1
    assert run(db, run_digests, utc("2026-10-30T21:00")).digests == 0
    # Saturday and Sunday: none. DST ends Sunday 1 Nov.
    assert run(db, run_digests, utc("2026-10-31T14:00")).digests == 0
    assert run(db, run_digests, utc("2026-11-01T14:00")).digests == 0
    # Monday 2 Nov is EST (UTC-5): 09:00 is 14:00 UTC, not 13:00.
    assert run(db, run_digests, utc("2026-11-02T13:30")).digests == 0
    assert run(db, run_digests, utc("2026-11-02T14:00")).digests == 1
    assert [d.payload["date"] for d in _digests(db)] == ["2026-10-30", "2026-11-02"]


@pytest.mark.usefixtures("people")
def test_a_digest_set_up_after_its_time_starts_the_next_working_day(db: Database) -> None:
    _digest_setup(db, now=WED_15)  # Wednesday 15:00 UTC = 10:00 in New York, after 09:00
    assert run(db, run_digests, utc("2026-11-25T16:00")).digests == 0
    assert run(db, run_digests, utc("2026-11-26T14:00")).digests == 1


@pytest.mark.usefixtures("people")
def test_digest_across_the_spring_change(db: Database) -> None:
    _digest_setup(db)
    # Friday 6 Mar 2026 is EST (UTC-5): 09:00 is 14:00 UTC. DST starts Sunday 8 Mar.
    assert run(db, run_digests, utc("2026-03-06T13:59")).digests == 0
    assert run(db, run_digests, utc("2026-03-06T14:00")).digests == 1
    # Monday 9 Mar is EDT (UTC-4): 09:00 is 13:00 UTC, an hour earlier in UTC, and only once.
    assert run(db, run_digests, utc("2026-03-09T12:59")).digests == 0
    assert run(db, run_digests, utc("2026-03-09T13:00")).digests == 1
    assert run(db, run_digests, utc("2026-03-09T14:00")).digests == 0
    assert [d.payload["date"] for d in _digests(db)] == ["2026-03-06", "2026-03-09"]


@pytest.mark.usefixtures("people")
def test_a_digest_missed_while_down_goes_out_later_that_day_never_the_next(db: Database) -> None:
    _digest_setup(db)
    assert run(db, run_digests, utc("2026-11-25T22:00")).digests == 1  # 17:00 local: still Wednesday
    # Down all Thursday; back on Friday at 08:00 local: Thursday is over and Friday's time has not come.
    assert run(db, run_digests, utc("2026-11-27T13:00")).digests == 0
    # Back at 23:00 local on a day whose digest was missed: still that day, so it goes out.
    assert run(db, run_digests, utc("2026-11-28T04:00")).digests == 1
    assert [d.payload["date"] for d in _digests(db)] == ["2026-11-25", "2026-11-27"]


@pytest.mark.usefixtures("people")
def test_two_schedulers_racing_send_one_of_everything(db: Database) -> None:
    _digest_setup(db)
    make_task(db, WED_15, due_at=FRI_DUE)
    now = utc("2026-11-27T14:00")  # 09:00 in New York (digest time); 14:00 in London (Ana's reminder)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def scheduler() -> None:
        barrier.wait()
        try:
            run_all(db, now, CONFIG)
        except Exception as exc:  # a loser may see a unique-key conflict; it must change nothing
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_digests(db)) == 1
    assert dms(db, "reminder") == [("UANA", 86400)]


@pytest.mark.usefixtures("people")
def test_reminders_follow_changed_hours_and_a_new_zone_at_once(db: Database) -> None:
    from zoneinfo import ZoneInfo

    from models.schedule import set_hours
    from models.worktime import parse_work_hours, to_dict

    make_task(db, WED_15, due_at=FRI_DUE)
    # Thursday 22:00 UTC: Ana's 24 h reminder waits for her Friday 09:00 (London) start.
    assert go(db, run_sweep, utc("2026-11-26T22:00")).reminders == 0
    with db.transaction() as s:
        set_hours(session=s, team_id=TEAM, user_id="UANA",
                  hours=to_dict(parse_work_hours("7:00-15:00 mon-fri", ZoneInfo("Europe/London"))))
    assert go(db, run_sweep, utc("2026-11-27T07:00")).reminders == 1  # her new start, not 09:00

    make_task(db, WED_15, due_at=FRI_DUE, assignee_id="UBEN", title="Book the venue")
    with db.transaction() as s:
        save_person(s, team_id=TEAM, info=PersonInfo(user_id="UBEN", name="ben", tz="Europe/London"), now=WED_15)
    assert go(db, run_sweep, utc("2026-11-26T22:00")).reminders == 0  # waits for 09:00 London
    with db.transaction() as s:  # Ben is back in Kolkata: Friday 09:00 there is 03:30 UTC
        save_person(s, team_id=TEAM, info=PersonInfo(user_id="UBEN", name="ben", tz="Asia/Kolkata"), now=WED_15)
    assert go(db, run_sweep, utc("2026-11-27T03:30")).reminders == 1
