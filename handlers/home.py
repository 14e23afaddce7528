"""The Home tab: opening it publishes it; its buttons page, refresh, open the creation modal and change settings."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy import update
from sqlmodel import col, select

from bot.services import Services
from handlers.common import explain, plain
from handlers.payloads import BlockAction, HomeOpened, ViewSubmission, current
from handlers.shortcuts import open_creation
from models import outbox
from models.errors import BadInput, DomainError
from models.notify import set_notify, set_quiet
from models.people import zone_of
from models.schedule import set_hours, set_morning_queue
from models.tables import Person
from models.worktime import format_work_hours, parse_work_hours, to_dict

__all__ = ["register"]

log = logging.getLogger(__name__)

_PAGE_NAMES = {"mine", "delegated", "team"}


def register(app: App, services: Services) -> None:
    """Attach the Home tab's event, buttons and the working-hours modal."""

    @app.event("app_home_opened")
    def home_opened(context: BoltContext) -> None:
        opened = current(context, HomeOpened)
        if opened.tab != "home":
            return  # the Messages tab is the DM; nothing to draw
        services.directory.person(opened.team_id, opened.user_id)  # so the person row exists, with their zone
        _refresh(services, opened.team_id, opened.user_id, key=opened.event_id, opened=True)

    @app.action("home_refresh")
    def refresh(ack: Ack, context: BoltContext) -> None:
        click = current(context, BlockAction)
        ack()
        _refresh(services, click.team_id, click.user_id)

    # Two buttons of one block can't share an action id: back and next are told apart by it.
    @app.action(re.compile(r"home_page_(back|next)"))
    def page(ack: Ack, context: BoltContext) -> None:
        click = current(context, BlockAction)
        ack()
        name, _, number = click.value.partition(":")
        if name not in _PAGE_NAMES or not number.isascii() or not number.isdigit() or not 1 <= int(number) <= 10_000:
            return  # a stale or foreign value: the tab stays as it is
        _refresh(services, click.team_id, click.user_id, page=(name, int(number)))

    @app.action("home_new_task")
    def new_task(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        open_creation(services, client, team_id=click.team_id, user_id=click.user_id, trigger_id=click.trigger_id,
                      channel_id=None)

    def setting(change: Any) -> Any:
        """A settings control: `change(session, team_id, user_id, value)` saves it; then the tab is redrawn."""

        def on_change(ack: Ack, context: BoltContext) -> None:
            click = current(context, BlockAction)
            ack()
            services.directory.person(click.team_id, click.user_id)  # so the person's row exists
            try:
                with services.db.transaction() as session:
                    change(session, click.team_id, click.user_id, click.value)
            except DomainError as error:
                services.tell(team_id=click.team_id, user_id=click.user_id, channel_id=None, text=explain(error))
                return
            services.directory.forget(click.team_id, click.user_id)
            _refresh(services, click.team_id, click.user_id)

        return on_change

    app.action("home_morning")(setting(
        lambda session, team_id, user_id, value: set_morning_queue(
            session=session, team_id=team_id, user_id=user_id, on=value == "on")))
    app.action("home_notify")(setting(
        lambda session, team_id, user_id, value: set_notify(session, team_id=team_id, user_id=user_id, mode=value)))
    app.action("home_quiet")(setting(
        lambda session, team_id, user_id, value: set_quiet(session, team_id=team_id, user_id=user_id,
                                                           on=value == "on")))

    @app.action("home_hours")
    def hours(ack: Ack, context: BoltContext, client: WebClient) -> None:
        click = current(context, BlockAction)
        ack()
        if not click.trigger_id:
            return
        person = services.directory.person(click.team_id, click.user_id)
        week = services.config.week(person)
        client.views_open(trigger_id=click.trigger_id, view=_hours_modal(format_work_hours(week), person.tz))

    @app.view("home_hours_modal")
    def hours_submitted(ack: Ack, context: BoltContext) -> None:
        submission = current(context, ViewSubmission)
        team_id, user_id = submission.team_id, submission.user_id
        person = services.directory.person(team_id, user_id)
        try:
            text = submission.text("hours").strip()
            if not text:
                raise BadInput("Say when you work, e.g. 8:00-16:00 mon-fri.", "")
            week = parse_work_hours(text, zone_of(person))
        except DomainError as error:
            ack(response_action="errors", errors={"hours": plain(services, team_id, explain(error))})
            return
        with services.db.transaction() as session:
            set_hours(session=session, team_id=team_id, user_id=user_id, hours=to_dict(week))
        services.directory.forget(team_id, user_id)
        ack()
        _refresh(services, team_id, user_id)


def _refresh(
    services: Services, team_id: str, user_id: str, *, key: str | None = None, opened: bool = False,
    page: tuple[str, int] | None = None,
) -> None:
    """Queue a publish of the person's Home tab (recording that they use it, or the page they turned to)."""
    now = services.clock()
    with services.db.transaction() as session:
        values: dict[str, object] = {}
        if opened:
            values["home_opened_at"] = now
        if page is not None:
            stored = session.exec(
                select(Person.home_pages).where(Person.team_id == team_id, Person.user_id == user_id)
            ).first()
            pages = dict(stored or {})
            pages[page[0]] = page[1]
            values["home_pages"] = pages
        if values:
            session.execute(
                update(Person).where(col(Person.team_id) == team_id, col(Person.user_id) == user_id).values(**values)
            )
        # One key per request (Slack's event id, or a fresh one): every refresh asked for is published once.
        outbox.enqueue(session, team_id=team_id, key=f"home:{user_id}:{key or uuid.uuid4().hex}",
                       kind="home.publish", payload={"user": user_id}, now=now)
    services.delivery.kick()


def _hours_modal(current_hours: str, tz: str) -> dict[str, object]:
    return {
        "type": "modal",
        "callback_id": "home_hours_modal",
        "title": {"type": "plain_text", "text": "Working hours"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input",
            "block_id": "hours",
            "label": {"type": "plain_text", "text": "When do you work?"},
            "hint": {"type": "plain_text", "text": f"In your time zone ({tz}), e.g. 8:00-16:00 mon-fri"},
            "element": {"type": "plain_text_input", "action_id": "value", "initial_value": current_hours,
                        "max_length": 200},
        }],
    }
