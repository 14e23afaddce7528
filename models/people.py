"""People as the workspace knows them: names and time zones cached from Slack."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, or_, select

from models.enums import WorkspaceRole
from models.notices import look_again_for
from models.parsing import day_first_for
from models.sql import insert_ignore
from models.tables import Person

__all__ = [
    "REFRESH_AFTER",
    "Actor",
    "PersonInfo",
    "close_names",
    "day_first",
    "find_by_name",
    "get_person",
    "member_list_read",
    "save_people",
    "save_person",
    "zone_of",
]

# Names and zones change rarely; refresh a cached person after this long.
REFRESH_AFTER = timedelta(hours=12)


@dataclass(frozen=True)
class Actor:
    """Who is acting, their standing in the workspace, and who holds the powers they may lack.

    `managers` and `admins` list the workspace's managers and admins, so a refusal can name them.
    """

    user_id: str
    role: WorkspaceRole = WorkspaceRole.MEMBER
    managers: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()

    @property
    def is_manager(self) -> bool:
        """A manager, or an admin (who may do everything a manager may)."""
        return self.role in (WorkspaceRole.MANAGER, WorkspaceRole.ADMIN)

    @property
    def is_admin(self) -> bool:
        """A Slack owner or admin of the workspace, or listed in HANDOFF_ADMINS."""
        return self.role is WorkspaceRole.ADMIN


@dataclass(frozen=True)
class PersonInfo:
    """A person's details as Slack reports them."""

    user_id: str
    name: str
    real_name: str = ""
    tz: str = "UTC"
    locale: str = ""  # empty when Slack did not say (asked without include_locale)
    is_bot: bool = False
    deleted: bool = False
    # Slack's `is_owner` or `is_admin`: a Handoff admin in this workspace.
    slack_admin: bool = False
    # Their Slack status (`profile.status_text`, `status_emoji`) and when it ends (None: it doesn't).
    status_text: str = ""
    status_emoji: str = ""
    status_expires_at: datetime | None = None


def get_person(session: Session, *, team_id: str, user_id: str) -> Person | None:
    """The cached person, or None."""
    return session.exec(
        select(Person).where(Person.team_id == team_id, Person.user_id == user_id)
    ).first()


def save_person(session: Session, *, team_id: str, info: PersonInfo, now: datetime) -> Person:
    """Insert or refresh a person's cached details."""
    # Insert-if-missing first: two requests meeting a new person at once must not both insert it.
    insert_ignore(
        session, Person,
        {"team_id": team_id, "user_id": info.user_id, "name": info.name, "real_name": "", "tz": "UTC",
         "is_bot": False, "deleted": False, "refreshed_at": now, "hours": {}, "morning_queue": False,
         "slack_admin": False},
    )
    person = get_person(session, team_id=team_id, user_id=info.user_id)
    assert person is not None
    person.name = info.name
    person.real_name = info.real_name
    if person.tz != info.tz:
        look_again_for(session, team_id=team_id, user_ids=[info.user_id])  # their reminders move with them
    person.tz = info.tz
    if info.locale:  # a users.list page without locales must not forget one we know
        person.locale = info.locale
    person.is_bot = info.is_bot
    person.deleted = info.deleted
    person.slack_admin = info.slack_admin
    person.status_text, person.status_emoji = info.status_text, info.status_emoji
    person.status_expires_at = info.status_expires_at
    person.refreshed_at = now
    session.add(person)
    session.flush()
    return person


def save_people(session: Session, *, team_id: str, infos: list[PersonInfo], now: datetime) -> None:
    """Insert or refresh many people's cached details (a page of the member list) in three statements.

    What `save_person` does for each, without loading anyone: the transaction holds SQLite's one write
    lock, and fifty people saved one by one held it for over 150 ms, long enough to hold requests up.
    """
    infos = list({info.user_id: info for info in infos}.values())  # the last word on each person
    if not infos:
        return
    ids = [info.user_id for info in infos]
    known = dict(session.exec(
        select(Person.user_id, Person.tz).where(Person.team_id == team_id, col(Person.user_id).in_(ids))
    ).all())
    # Someone new counts as moving from UTC, as `save_person` has it (tasks may name them already).
    moved = sorted(info.user_id for info in infos if known.get(info.user_id, "UTC") != info.tz)
    look_again_for(session, team_id=team_id, user_ids=moved)  # their reminders move with them
    table = Person.__table__  # type: ignore[attr-defined]
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
    stmt = insert.values([
        {"team_id": team_id, "user_id": i.user_id, "name": i.name, "real_name": i.real_name, "tz": i.tz,
         "locale": i.locale, "is_bot": i.is_bot, "deleted": i.deleted, "refreshed_at": now, "hours": {},
         "morning_queue": False, "slack_admin": i.slack_admin, "status_text": i.status_text,
         "status_emoji": i.status_emoji, "status_expires_at": i.status_expires_at}
        for i in infos
    ])
    fresh = stmt.excluded
    session.connection().execute(stmt.on_conflict_do_update(
        index_elements=[table.c.team_id, table.c.user_id],
        set_={
            "name": fresh.name, "real_name": fresh.real_name, "tz": fresh.tz, "is_bot": fresh.is_bot,
            "deleted": fresh.deleted, "slack_admin": fresh.slack_admin, "refreshed_at": fresh.refreshed_at,
            "status_text": fresh.status_text, "status_emoji": fresh.status_emoji,
            "status_expires_at": fresh.status_expires_at,
            # A page without locales must not forget one we know.
            "locale": case((fresh.locale == "", table.c.locale), else_=fresh.locale),
        },
    ))


def find_by_name(session: Session, *, team_id: str, name: str) -> list[Person]:
    """People whose handle or real name equals `name` (case-insensitive), live humans first."""
    wanted = name.lower()
    return list(
        session.exec(
            select(Person)
            .where(Person.team_id == team_id, col(Person.deleted).is_(False))
            .where(or_(func.lower(Person.name) == wanted, func.lower(Person.real_name) == wanted))
            .order_by(col(Person.is_bot), col(Person.id))
        )
    )


def close_names(session: Session, *, team_id: str, name: str, limit: int = 3) -> list[str]:
    """Handles of live people whose handle or real name is close to `name` (for "did you mean"), best first."""
    wanted = name.lower()
    # A typo rarely changes the first letter; reading only those names keeps this cheap in a big workspace.
    rows = session.exec(
        select(Person.name, Person.real_name)
        .where(Person.team_id == team_id, col(Person.deleted).is_(False), col(Person.is_bot).is_(False))
        .where(or_(func.lower(Person.name).startswith(wanted[:1], autoescape=True),
                   func.lower(Person.real_name).startswith(wanted[:1], autoescape=True)))
    ).all()
    handle_of = {spelling.lower(): handle for handle, real_name in rows for spelling in (handle, real_name) if spelling}
    close = difflib.get_close_matches(wanted, list(handle_of), n=limit * 2, cutoff=0.6)
    return list(dict.fromkeys(handle_of[spelling] for spelling in close))[:limit]


def member_list_read(session: Session, *, team_id: str) -> bool:
    """Whether the workspace's member list has been read: it names bots (Slackbot, Handoff's own), requests don't."""
    return session.exec(
        select(Person.id).where(Person.team_id == team_id, col(Person.is_bot).is_(True)).limit(1)
    ).first() is not None


def day_first(person: Person | None) -> bool:
    """Whether this person writes `12/5` for 12 May: by their Slack locale, else their zone's region."""
    if person is None:
        return day_first_for(None, "UTC")
    return day_first_for(person.locale or None, person.tz)


def zone_of(person: Person | None) -> ZoneInfo:
    """The person's IANA zone, UTC when unknown or invalid."""
    if person is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(person.tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
