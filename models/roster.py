"""The team's roster: who is on it, their skills, office and capacity, and how each stands right now.

Managers and admins change it (`Deed.MANAGE_TEAM`); making someone a manager is still an admin's deed,
so `team add @ben manager` by a manager is refused as `/tasks managers add` would be.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from models.availability import AT_WORK, Availability, availability, away_now
from models.errors import BadInput
from models.people import Actor
from models.permissions import Deed, require
from models.queries import ACTIVE_STATUSES, AssistantCounts
from models.roles import grant_manager, revoke_manager
from models.tables import Person, RoleGrant, Task, TeamMember
from models.worktime import WorkWeek

__all__ = [
    "MAX_SKILLS",
    "OFFICES",
    "MemberTerms",
    "RosterEntry",
    "add_member",
    "away_among",
    "change_skills",
    "parse_member_terms",
    "parse_skill_changes",
    "remove_member",
    "roster",
    "set_capacity",
    "with_roster",
]

OFFICES: Final = ("front", "back")
MAX_SKILLS: Final = 20
MAX_CAPACITY: Final = 500
_SKILL_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_ROLES: Final = ("assistant", "manager")
_HINT: Final = "e.g. `/tasks team add @ana assistant skills:bookkeeping,payroll office:back capacity:8`"


@dataclass(frozen=True)
class MemberTerms:
    """What `team add` says about a person; None: left as it is (or the default, for someone new)."""

    role: str | None = None
    skills: tuple[str, ...] | None = None
    office: str | None = None
    clear_office: bool = False
    capacity: int | None = None
    clear_capacity: bool = False


@dataclass(frozen=True)
class RosterEntry:
    """One person on the roster as things stand: their details, open load and whether at work now."""

    member: TeamMember
    person: Person | None
    manager: bool
    open_tasks: int
    now: Availability
    week: WorkWeek | None = field(default=None, compare=False)

    @property
    def at_work(self) -> bool:
        """Within their working hours and not away."""
        return self.now.state == AT_WORK


def _skill(word: str) -> str:
    skill = word.strip().lower().lstrip("#")
    if not _SKILL_RE.fullmatch(skill):
        raise BadInput(f"`{word[:40]}` is not a skill name.", "Skills are single words such as `payroll` or `inbox`.")
    return skill


def _capacity(word: str) -> int | None:
    if word.lower() in {"none", "off", "any", "unlimited"}:
        return None
    if not word.isascii() or not word.isdigit() or not 1 <= int(word) <= MAX_CAPACITY:
        raise BadInput(f"`{word[:20]}` is not a capacity.",
                       f"Say a number of open tasks from 1 to {MAX_CAPACITY}, or `none` for no limit.")
    return int(word)


def parse_member_terms(words: Sequence[str]) -> MemberTerms:
    """Read `assistant skills:bookkeeping,payroll office:back capacity:8` (each part optional, any order)."""
    role: str | None = None
    skills: tuple[str, ...] | None = None
    office: str | None = None
    clear_office = clear_capacity = False
    capacity: int | None = None
    for word in words:
        key, colon, value = word.partition(":")
        key = key.lower()
        if not colon:
            if key not in _ROLES:
                raise BadInput(f"I can't read `{word[:40]}` here.", _HINT)
            role = key
        elif key in {"skills", "skill"}:
            skills = tuple(sorted({_skill(s) for s in value.split(",") if s.strip()}))
            if len(skills) > MAX_SKILLS:
                raise BadInput(f"That is {len(skills)} skills; a person can have at most {MAX_SKILLS}.", "")
        elif key == "office":
            choice = value.lower()
            if choice in {"none", "any", "either"}:
                clear_office = True
            elif choice in OFFICES:
                office = choice
            else:
                raise BadInput(f"`{value[:20]}` is not an office.",
                               "Say `office:front` (client-facing) or `office:back` (admin, bookkeeping, payroll).")
        elif key == "capacity":
            capacity = _capacity(value)
            clear_capacity = capacity is None
        else:
            raise BadInput(f"I don't know `{key[:20]}:`.", _HINT)
    return MemberTerms(role, skills, office, clear_office, capacity, clear_capacity)


def parse_skill_changes(words: Sequence[str]) -> tuple[set[str], set[str]]:
    """`+inbox -payroll` (a bare word adds): the skills to add and those to take away."""
    if not words:
        raise BadInput("Which skills?", "Say e.g. `/tasks team skills @ana +inbox -payroll`.")
    add: set[str] = set()
    drop: set[str] = set()
    for word in words:
        for part in word.split(","):
            if part.startswith("-"):
                drop.add(_skill(part[1:]))
            elif part.strip("+"):
                add.add(_skill(part.lstrip("+")))
    return add - drop, drop


def _member(session: Session, team_id: str, user_id: str, *, lock: bool = False) -> TeamMember | None:
    return session.get(TeamMember, (team_id, user_id), with_for_update=lock)


def _is_manager(session: Session, team_id: str, user_id: str) -> bool:
    return session.get(RoleGrant, (team_id, user_id)) is not None


def add_member(
    session: Session, *, team_id: str, actor: Actor, user_id: str, terms: MemberTerms, now: datetime
) -> tuple[TeamMember, bool]:
    """Put `user_id` on the roster, or update them if they are on it; (their row, whether they were new).

    `manager` also grants the manager role (admins only), in the same transaction."""
    require(Deed.MANAGE_TEAM, actor, subject="the team")
    if terms.role == "manager" and not _is_manager(session, team_id, user_id):
        grant_manager(session, team_id=team_id, actor=actor, user_id=user_id, now=now)
    elif terms.role == "assistant" and _is_manager(session, team_id, user_id):
        revoke_manager(session, team_id=team_id, actor=actor, user_id=user_id, now=now)
    member = _member(session, team_id, user_id, lock=True)
    new = member is None
    if member is None:
        member = TeamMember(team_id=team_id, user_id=user_id, added_by=actor.user_id, added_at=now)
    if terms.skills is not None:
        member.skills = list(terms.skills)
    if terms.office is not None or terms.clear_office:
        member.office = terms.office
    if terms.capacity is not None or terms.clear_capacity:
        member.capacity = terms.capacity
    session.add(member)
    return member, new


def remove_member(session: Session, *, team_id: str, actor: Actor, user_id: str, now: datetime) -> bool:
    """Take `user_id` off the roster (and their manager role, an admin's deed); False if not on it.

    Their tasks stay theirs: nothing is unassigned or lost."""
    require(Deed.MANAGE_TEAM, actor, subject="the team")
    member = _member(session, team_id, user_id, lock=True)
    if _is_manager(session, team_id, user_id):
        revoke_manager(session, team_id=team_id, actor=actor, user_id=user_id, now=now)
    elif member is None:
        return False
    if member is not None:
        session.delete(member)
    return True


def _on_roster(session: Session, team_id: str, actor: Actor, user_id: str) -> TeamMember:
    require(Deed.MANAGE_TEAM, actor, subject="the team")
    member = _member(session, team_id, user_id, lock=True)
    if member is None:
        raise BadInput(f"<@{user_id}> is not on the team.", f"Add them first: `/tasks team add <@{user_id}>`.")
    return member


def change_skills(
    session: Session, *, team_id: str, actor: Actor, user_id: str, add: set[str], drop: set[str]
) -> TeamMember:
    """Give `user_id` the skills in `add` and take those in `drop`."""
    member = _on_roster(session, team_id, actor, user_id)
    skills = sorted((set(member.skills) | add) - drop)
    if len(skills) > MAX_SKILLS:
        raise BadInput(f"That would be {len(skills)} skills; a person can have at most {MAX_SKILLS}.", "")
    member.skills = skills
    session.add(member)
    return member


def set_capacity(session: Session, *, team_id: str, actor: Actor, user_id: str, word: str) -> TeamMember:
    """Set how many open tasks routing gives `user_id` at most (`none`: no limit)."""
    capacity = _capacity(word)
    member = _on_roster(session, team_id, actor, user_id)
    member.capacity = capacity
    session.add(member)
    return member


def roster(
    session: Session, *, team_id: str, now: datetime, week_of: Callable[[Person | None], WorkWeek]
) -> list[RosterEntry]:
    """Everyone on the roster and every manager, managers first, then by name: three queries in all."""
    members = {m.user_id: m for m in session.exec(select(TeamMember).where(TeamMember.team_id == team_id)).all()}
    managers = set(session.exec(select(RoleGrant.user_id).where(RoleGrant.team_id == team_id)).all())
    ids = sorted(set(members) | managers)
    if not ids:
        return []
    people = {p.user_id: p for p in session.exec(
        select(Person).where(Person.team_id == team_id, col(Person.user_id).in_(ids))).all()}
    loads = dict(session.exec(
        select(Task.assignee_id, func.count())
        .where(Task.team_id == team_id, col(Task.assignee_id).in_(ids), col(Task.status).in_(ACTIVE_STATUSES))
        .group_by(col(Task.assignee_id))
    ).all())
    entries = []
    for user_id in ids:
        person = people.get(user_id)
        member = members.get(user_id) or TeamMember(team_id=team_id, user_id=user_id, added_by="", added_at=now)
        week = week_of(person)
        entries.append(RosterEntry(member, person, user_id in managers, int(loads.get(user_id, 0)),
                                   availability(person, week, now), week))
    entries.sort(key=lambda e: (not e.manager, (e.person.name if e.person else e.member.user_id).lower()))
    return entries


def with_roster(session: Session, team_id: str, counted: Sequence[AssistantCounts]) -> list[AssistantCounts]:
    """Everyone counted, and every assistant on the roster (managers aside), with nothing open or not."""
    managers = select(RoleGrant.user_id).where(RoleGrant.team_id == team_id)
    roster = session.exec(select(TeamMember.user_id).where(
        TeamMember.team_id == team_id, col(TeamMember.user_id).not_in(managers))).all()
    seen = {p.user_id for p in counted}
    return [*counted, *(AssistantCounts(u, 0, 0, 0, 0, 0) for u in sorted(set(roster) - seen))]


def away_among(session: Session, team_id: str, user_ids: list[str], now: datetime) -> dict[str, str]:
    """Who of `user_ids` is away now, with until when (ISO) or "" (a Slack status with no end)."""
    if not user_ids:
        return {}
    # Only those with an away or any Slack status can be away: usually a few, not the whole team.
    maybe = or_(col(Person.away_until) > now, col(Person.status_text) != "", col(Person.status_emoji) != "")
    people = session.exec(
        select(Person).where(Person.team_id == team_id, col(Person.user_id).in_(user_ids), maybe)
    ).all()
    out = {}
    for person in people:
        gone = away_now(person, now)
        if gone is not None:
            out[person.user_id] = gone.until.isoformat() if gone.until is not None else ""
    return out
