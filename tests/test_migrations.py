"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import models.tables  # noqa: F401
from migrations import upgrade
from models.db import make_engine


@pytest.mark.empty_database
def test_migrations_match_the_models(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # running again at head is a no-op
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert {"task", "taskevent", "outbox", "person", "workspace", "processedevent"} <= tables


@pytest.mark.empty_database
def test_upgrading_keeps_existing_rows(db_url: str) -> None:
    from sqlalchemy import text

    upgrade(db_url, "0001")
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO person (team_id, user_id, name, real_name, tz, is_bot, deleted, refreshed_at) "
                "VALUES ('T1', 'U1', 'ana', 'Ana', 'Europe/London', false, false, '2026-11-25 10:00:00')"
            ))
        upgrade(db_url, "0003")  # 0004 turns is_manager into roles (tested below)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT name, morning_queue, is_manager, locale FROM person")).one()
    finally:
        engine.dispose()
    assert (row[0], bool(row[1]), bool(row[2]), row[3]) == ("ana", False, False, "")


@pytest.mark.empty_database
def test_managers_recorded_before_roles_stay_managers_with_a_history_line(db_url: str) -> None:
    from sqlalchemy import text

    upgrade(db_url, "0002")
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO person (team_id, user_id, name, real_name, tz, is_bot, deleted, refreshed_at, hours, "
                "morning_queue, is_manager) VALUES ('T1', 'UMIA', 'mia', 'Mia', 'UTC', false, false, "
                "'2026-11-25 10:00:00', '{}', false, true), ('T1', 'UANA', 'ana', 'Ana', 'UTC', false, false, "
                "'2026-11-25 10:00:00', '{}', false, false)"
            ))
        upgrade(db_url)
        with engine.connect() as conn:
            grants = conn.execute(text("SELECT team_id, user_id, role, granted_by FROM rolegrant")).all()
            events = conn.execute(text("SELECT user_id, kind, actor_id FROM roleevent")).all()
            admins = conn.execute(text("SELECT user_id, slack_admin FROM person ORDER BY user_id")).all()
    finally:
        engine.dispose()
    assert [tuple(g) for g in grants] == [("T1", "UMIA", "manager", "migration-0004")]
    assert [tuple(e) for e in events] == [("UMIA", "granted", "migration-0004")]
    assert [(u, bool(a)) for u, a in admins] == [("UANA", False), ("UMIA", False)]


@pytest.mark.empty_database
def test_dms_a_stopped_pass_left_owed_are_carried_over_to_the_new_queue(db_url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlmodel import select

    from models.db import Database
    from models.notices import send_owed_dms
    from models.tables import Outbox

    upgrade(db_url, "0007")
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO task (id, team_id, number, title, requester_id, assignee_id, priority, tags, "
                "due_at, origin_channel_id, card_channel_id, card_url, status, created_at, updated_at, version) "
                "VALUES (1, 'T1', 7, 'Reconcile invoices', 'URITA', 'UANA', 'normal', '[]', "
                "'2026-11-30 17:00:00', 'C1', 'C1', 'https://x.slack.com/archives/C1/p1', 'assigned', "
                "'2026-11-25 10:00:00', '2026-11-25 10:00:00', 1)"
            ))
            conn.execute(text(
                "INSERT INTO taskevent (id, team_id, task_id, actor_id, kind, detail, at) VALUES "
                "(10, 'T1', 1, 'handoff', 'overdue', '{}', '2026-12-01 09:00:00'), "
                "(11, 'T1', 1, 'handoff', 'escalated', '{}', '2026-12-01 09:00:00')"
            ))
            conn.execute(text(
                "INSERT INTO noticequeue (team_id, user_id, event_id) VALUES "
                "('T1', 'UANA', 10), ('T1', 'UMIA', 10), ('T1', 'UMIA', 11)"
            ))
        upgrade(db_url)
    finally:
        engine.dispose()
    db = Database.from_url(db_url)
    try:
        with db.transaction() as session:
            assert send_owed_dms(session, team_id="T1", user_ids=["UANA", "UMIA"],
                                 now=datetime(2026, 12, 2, tzinfo=UTC)) == 2
        with db.read() as session:
            dms = {row.payload["user"]: row for row in session.exec(select(Outbox)).all()}
    finally:
        db.dispose()
    assert (dms["UANA"].kind, dms["UANA"].payload["event_id"], dms["UANA"].task_id) == ("dm", 10, 1)
    grouped = dms["UMIA"].payload
    assert dms["UMIA"].kind == "notices" and grouped["counts"] == {"overdue": 1, "escalated": 1}
    assert [(i["kind"], i["ref"], i["due"]) for i in grouped["items"]] == [
        ("overdue", "T-7", "2026-11-30T17:00:00+00:00"), ("escalated", "T-7", "2026-11-30T17:00:00+00:00")]


@pytest.mark.empty_database
def test_next_notice_instants_move_to_their_own_table_and_back(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from migrations import alembic_config

    upgrade(db_url, "0009")
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            for number, at, version in [(1, "'2026-12-01 09:00:00'", 3), (2, "NULL", 1)]:  # T-2: none owed
                conn.execute(text(
                    "INSERT INTO task (team_id, number, title, requester_id, assignee_id, priority, tags, "
                    "origin_channel_id, card_channel_id, status, created_at, updated_at, version, next_notice_at) "
                    f"VALUES ('T1', :n, 'A task', 'URITA', 'UANA', 'normal', '[]', 'C1', 'C1', 'assigned', "
                    f"'2026-11-25 10:00:00', '2026-11-25 10:00:00', :v, {at})"
                ), {"n": number, "v": version})
        upgrade(db_url)
        with engine.connect() as conn:
            moved = conn.execute(text(
                "SELECT t.number, n.team_id, n.version FROM tasknotice n JOIN task t ON t.id = n.task_id")).all()
            assert "next_notice_at" not in {c["name"] for c in inspect(conn).get_columns("task")}
        command.downgrade(alembic_config(db_url), "0009")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT number, next_notice_at IS NULL FROM task ORDER BY number")).all()
            assert "tasknotice" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
    assert [tuple(row) for row in moved] == [(1, "T1", 3)]
    assert [(n, bool(none)) for n, none in back] == [(1, False), (2, True)]


@pytest.mark.empty_database
def test_everyones_quiet_hours_become_not_chosen_so_the_default_applies(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from migrations import alembic_config

    person = ("INSERT INTO person (team_id, user_id, name, real_name, tz, is_bot, deleted, refreshed_at, hours, "
              "morning_queue, locale, slack_admin, home_pages) VALUES ('T1', :u, 'x', 'X', 'UTC', false, false, "
              "'2026-11-25 10:00:00', '{}', false, '', false, '{}')")
    upgrade(db_url, "0011")
    engine = make_engine(db_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text(person), {"u": "UANA"})  # 0011 stored off
        upgrade(db_url)
        with engine.begin() as conn:
            conn.execute(text(person), {"u": "UBEN"})
            after = conn.execute(text("SELECT user_id, quiet FROM person ORDER BY user_id")).all()
        command.downgrade(alembic_config(db_url), "0011")
        with engine.begin() as conn:
            back = conn.execute(text("SELECT quiet FROM person ORDER BY user_id")).scalars().all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in after] == [("UANA", None), ("UBEN", None)]
    assert [bool(q) for q in back] == [False, False]
