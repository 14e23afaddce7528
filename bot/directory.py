"""Who is who: Slack users resolved through `users.info`/`users.list` and cached in the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from models.db import Database
from models.errors import UnknownUser
from models.people import (
    REFRESH_AFTER,
    PersonInfo,
    close_names,
    find_by_name,
    get_person,
    member_list_read,
    save_people,
    save_person,
)
from models.tables import Person

__all__ = ["Directory", "info_from_slack"]

log = logging.getLogger(__name__)

# The worker reads the whole member list when it starts and then this often; between two readings,
# user_change and team_join events keep the stored directory current.
LIST_EVERY = timedelta(hours=6)
# People saved per transaction: short transactions, so a request never waits long behind the reading.
SAVE_BATCH = 50


def info_from_slack(user: dict[str, object]) -> PersonInfo:
    """A PersonInfo from a Slack user object."""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    display = str(profile.get("display_name") or "")
    return PersonInfo(
        user_id=str(user["id"]),
        name=str(user.get("name") or display or user["id"]),
        real_name=str(user.get("real_name") or profile.get("real_name") or ""),
        tz=str(user.get("tz") or "UTC"),
        locale=str(user.get("locale") or ""),
        is_bot=bool(user.get("is_bot")) or user.get("id") == "USLACKBOT",
        deleted=bool(user.get("deleted")),
        slack_admin=bool(user.get("is_owner")) or bool(user.get("is_admin")),
        status_text=str(profile.get("status_text") or "")[:100],
        status_emoji=str(profile.get("status_emoji") or "")[:100],
        status_expires_at=_expiry(profile.get("status_expiration")),
    )


def _expiry(value: object) -> datetime | None:
    """Slack's `status_expiration` (Unix seconds; 0 or missing: the status doesn't end) as an instant."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = int(value)
    except ValueError:
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


class Directory:
    """Looks people up, from the cache when fresh, else from Slack; plain names from the stored directory only."""

    def __init__(self, db: Database, client: WebClient, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        # Every command needs the requester's zone; keeping fresh rows in memory saves a transaction each time.
        self._memo: dict[tuple[str, str], Person] = {}
        # The member list page-through (scheduler threads only): where it is, and when it last finished.
        self._listing = threading.Lock()
        self._cursor: str | None = None
        self._listed_at: datetime | None = None
        self._team_id: str | None = None

    def forget(self, team_id: str, user_id: str) -> None:
        """Drop the in-memory copy of a person (after their settings changed)."""
        self._memo.pop((team_id, user_id), None)

    def person(self, team_id: str, user_id: str) -> Person:
        """The person with this id (refreshed from Slack when stale), or UnknownUser."""
        now = self.clock()
        memo = self._memo.get((team_id, user_id))
        if memo is not None and now - memo.refreshed_at < REFRESH_AFTER:
            return memo
        person = self._load(team_id, user_id, now)
        self._memo[(team_id, user_id)] = person
        return person

    def _load(self, team_id: str, user_id: str, now: datetime) -> Person:
        with self.db.read() as session:
            cached = get_person(session, team_id=team_id, user_id=user_id)
            if cached is not None and now - cached.refreshed_at < REFRESH_AFTER:
                session.expunge(cached)
                return cached
        try:
            user = self.client.users_info(user=user_id, include_locale=True)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                raise UnknownUser(
                    f"I can't find <@{user_id}> in this workspace.",
                    "Mention someone with @ and pick them from the list.",
                ) from exc
            if cached is not None:
                return cached  # Slack is having trouble; yesterday's name and zone will do.
            raise
        except OSError:
            if cached is not None:
                return cached
            raise
        with self.db.transaction() as session:
            person = save_person(session, team_id=team_id, info=info_from_slack(user), now=now)
            session.expunge(person)
            return person

    def by_name(self, team_id: str, name: str) -> Person:
        """The one person called `name` (their handle or real name), from the stored directory, or UnknownUser.

        Never asks Slack: a typo must be answered at once, and the worker keeps the directory current.
        """
        with self.db.read() as session:
            found = find_by_name(session, team_id=team_id, name=name)
            session.expunge_all()
            humans = [p for p in found if not p.is_bot]
            if not humans:
                raise UnknownUser(f"I can't find anyone called @{name} in this workspace.", _unknown_hint(
                    close_names(session, team_id=team_id, name=name),
                    loading=not member_list_read(session, team_id=team_id),
                ))
        if len(humans) > 1:
            raise UnknownUser(
                f"More than one person is called @{name}.",
                "Pick the person from Slack's @ list so the mention is exact.",
            )
        return humans[0]

    def learn(self, team_id: str, user: dict[str, object]) -> None:
        """Store one person as a `user_change`/`team_join` event describes them."""
        info = info_from_slack(user)
        with self.db.transaction() as session:
            save_person(session, team_id=team_id, info=info, now=self.clock())
        self.forget(team_id, info.user_id)

    def refresh(self) -> None:
        """The scheduler's housekeeping before each pass: a page of the member list when owed, then stale people."""
        self.list_page()
        self.refresh_stale()

    def refresh_stale(self, *, limit: int = 20) -> int:
        """Refresh people whose cached name and zone are old (so reminders follow a changed time zone)."""
        cutoff = self.clock() - REFRESH_AFTER
        with self.db.read() as session:
            stale = [
                (p.team_id, p.user_id)
                for p in session.exec(
                    select(Person).where(col(Person.refreshed_at) < cutoff, col(Person.is_bot).is_(False))
                    .order_by(col(Person.refreshed_at)).limit(limit)
                )
            ]
        refreshed = 0
        for team_id, user_id in stale:
            try:
                self.person(team_id, user_id)
                refreshed += 1
            except Exception:  # one unreachable user must not stop the others, nor the scheduler
                log.warning("could not refresh %s", user_id, exc_info=True)
        return refreshed

    def list_page(self) -> bool:
        """Read the next page of `users.list` when a page-through is owed; True while one is under way.

        A page-through starts when the process starts and again every LIST_EVERY. One page per scheduler
        pass keeps it far below users.list's rate limit (Tier 2) and holds no job up for long.
        """
        if not self._listing.acquire(blocking=False):
            return True  # another scheduler thread is reading a page right now
        try:
            now = self.clock()
            if self._cursor is None and self._listed_at is not None and now - self._listed_at < LIST_EVERY:
                return False
            try:
                self._cursor = self._read_page(self._cursor, now)
            except SlackApiError as exc:
                log.warning("could not read the member list: %s", exc.response.get("error"))
                if exc.response.get("error") == "invalid_cursor":
                    self._cursor = None  # the page-through went stale; start it again next time
                return True
            except OSError:
                log.warning("could not read the member list", exc_info=True)
                return True
            if self._cursor is None:
                self._listed_at = now
            return self._cursor is not None
        finally:
            self._listing.release()

    def _read_page(self, cursor: str | None, now: datetime) -> str | None:
        """Save one page of members; returns the cursor of the next page, None after the last."""
        if self._team_id is None:
            # One bot token is one workspace; users.list's members may belong to others (Enterprise Grid).
            self._team_id = str(self.client.auth_test()["team_id"])
        page = (
            self.client.users_list(limit=200, cursor=cursor, include_locale=True)
            if cursor
            else self.client.users_list(limit=200, include_locale=True)
        )
        members = page.get("members") or []
        infos = [info_from_slack(user) for user in members]
        for start in range(0, len(infos), SAVE_BATCH):
            with self.db.transaction() as session:
                save_people(session, team_id=self._team_id, infos=infos[start : start + SAVE_BATCH], now=now)
        self._memo.clear()  # names, zones and admin flags may have changed
        return (page.get("response_metadata") or {}).get("next_cursor") or None


def _unknown_hint(close: list[str], *, loading: bool) -> str:
    """What to do about a name nobody has: the names it may have meant, or why none is known yet."""
    exact = "pick the person from Slack's @ list so the mention is exact."
    if loading:
        return f"I'm still reading this workspace's member list (it takes a minute after Handoff starts); {exact}"
    if close:
        return "Did you mean " + " or ".join(f"@{handle}" for handle in close) + "? Or " + exact
    return exact[0].upper() + exact[1:]
