"""People as cached from Slack: the locale, and the reading order it gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, update
from sqlmodel import col

from models.db import Database
from models.people import (
    PersonInfo,
    close_names,
    day_first,
    get_person,
    member_list_read,
    save_people,
    save_person,
)
from models.tables import TaskNotice
from tests.factories import make_task

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_the_locale_is_kept_when_a_refresh_does_not_say(db: Database) -> None:
    with db.transaction() as session:
        save_person(session, team_id="T1", info=PersonInfo("U1", "ana", tz="Europe/London", locale="en-GB"), now=NOW)
    with db.transaction() as session:
        # users.list without include_locale: no locale in the user object.
        save_person(session, team_id="T1", info=PersonInfo("U1", "ana", tz="America/New_York"), now=NOW)
    with db.read() as session:
        person = get_person(session, team_id="T1", user_id="U1")
        assert person is not None
        assert (person.tz, person.locale) == ("America/New_York", "en-GB")
        assert day_first(person) is True  # en-GB, though the zone is New York's


def test_without_a_locale_the_zone_decides(db: Database) -> None:
    with db.transaction() as session:
        us = save_person(session, team_id="T1", info=PersonInfo("U1", "rita", tz="America/Chicago"), now=NOW)
        au = save_person(session, team_id="T1", info=PersonInfo("U2", "chen", tz="Australia/Sydney"), now=NOW)
        assert (us.locale, day_first(us)) == ("", False)
        assert (au.locale, day_first(au)) == ("", True)
    assert day_first(None) is False  # nobody known: Slack's default locale, en-US



def test_close_names_suggest_live_people_by_handle_or_real_name(db: Database) -> None:
    with db.transaction() as session:
        for info in (PersonInfo("U1", "ana", real_name="Ana Assistant"), PersonInfo("U2", "anna.k", real_name="Anna"),
                     PersonInfo("U3", "ben"), PersonInfo("U4", "anaa.old", deleted=True),
                     PersonInfo("U5", "anabot", is_bot=True)):
            save_person(session, team_id="T1", info=info, now=NOW)
        save_person(session, team_id="T2", info=PersonInfo("U9", "anaa"), now=NOW)
    with db.read() as session:
        assert close_names(session, team_id="T1", name="anaa") == ["ana", "anna.k"]
        assert close_names(session, team_id="T1", name="bem") == ["ben"]
        assert close_names(session, team_id="T1", name="wen") == []  # a changed first letter is not searched
        assert close_names(session, team_id="T1", name="%a") == []  # LIKE's wildcards are plain letters here
        assert member_list_read(session, team_id="T1") is True  # a bot is stored: the list was read
        assert member_list_read(session, team_id="T2") is False


def test_a_page_of_people_is_saved_as_save_person_would_in_three_statements(db: Database) -> None:
    later = NOW + timedelta(hours=1)
    with db.transaction() as session:
        save_person(session, team_id="T1", info=PersonInfo("U1", "ana", tz="Europe/London", locale="en-GB"), now=NOW)
        ana = get_person(session, team_id="T1", user_id="U1")
        assert ana is not None
        ana.hours, ana.morning_queue = {"days": [0, 1, 2]}, True  # set in Handoff: a refresh keeps them
        session.add(ana)
    task = make_task(db, NOW, team_id="T1", assignee_id="U1", due_at=NOW + timedelta(days=3))
    with db.transaction() as session:
        session.connection().execute(
            update(TaskNotice.__table__).where(col(TaskNotice.task_id) == task.id)  # type: ignore[attr-defined]
            .values(at=NOW + timedelta(days=2))
        )
    page = [PersonInfo("U1", "ana.b", real_name="Ana B", tz="America/New_York", slack_admin=True),
            *(PersonInfo(f"U{n}", f"person{n}", tz="Asia/Tokyo", locale="ja-JP") for n in range(2, 52))]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.transaction() as session:
            save_people(session, team_id="T1", infos=page, now=later)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 3  # who is known, their tasks to look at again, the upsert
    with db.read() as session:
        ana = get_person(session, team_id="T1", user_id="U1")
        assert ana is not None
        assert (ana.name, ana.real_name, ana.tz, ana.locale, ana.slack_admin) == (
            "ana.b", "Ana B", "America/New_York", "en-GB", True)
        assert (ana.hours, ana.morning_queue, ana.refreshed_at) == ({"days": [0, 1, 2]}, True, later)
        tokyo = get_person(session, team_id="T1", user_id="U51")
        assert tokyo is not None and (tokyo.name, tokyo.tz, tokyo.locale) == ("person51", "Asia/Tokyo", "ja-JP")
        # Ana moved to New York: the sweep looks at her task again at once, not two days from now.
        stored = session.get(TaskNotice, task.id)
        assert stored is not None and stored.at <= later
