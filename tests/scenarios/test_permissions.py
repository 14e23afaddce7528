"""Who may do what, through every surface an action arrives from, signed over HTTP against the stand-in.

Each case sets up a task (or a digest, a recurring task, a manager), lets one person of five try one
action through one surface, and checks what that person sees and what is stored: a refusal names who
may, and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import create_app
from migrations import upgrade
from models.db import Database
from models.enums import WorkspaceRole
from models.roles import revoke_manager
from sandbox import SlackStandIn
from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, GENERAL, MIA, POOL, RITA, TEAM, Bot, settings_for

OWEN = "UOWEN"  # the workspace's Slack owner: an admin
NAMES = {RITA: "Rita Requester", ANA: "Ana Assistant", BEN: "Ben Assistant", MIA: "Mia Manager", OWEN: "Owen Owner"}
ROLES = {"requester": RITA, "assignee": ANA, "other assistant": BEN, "manager": MIA, "admin": OWEN}

# The specification: who may do each thing (written out here, independently of models/permissions.py).
MOVERS = {"assignee", "requester", "manager", "admin"}
OWNERS = {"requester", "manager", "admin"}
MAY = {
    "claim": set(ROLES),
    "release": {"assignee"},
    "start": MOVERS,
    "block": MOVERS,
    "unblock": MOVERS,
    "done": MOVERS,
    "reopen": MOVERS,
    "cancel": OWNERS,
    "reassign": OWNERS,
    "change_due": OWNERS,
    "snooze": {"assignee", "manager", "admin"},
    "pause_recurring": OWNERS,
    "set_digest": {"manager", "admin"},
    "stop_digest": {"manager", "admin"},
    "add_manager": {"admin"},
    "remove_manager": {"admin"},
}
VERB = {
    "claim": "claim T-1", "release": "release T-1", "start": "start T-1", "block": "block T-1",
    "unblock": "unblock T-1", "done": "finish T-1", "reopen": "reopen T-1", "cancel": "cancel T-1",
    "reassign": "reassign T-1", "change_due": "change the due date of T-1", "snooze": "snooze T-1",
    "pause_recurring": "change R-1", "set_digest": "set up the daily digest",
    "stop_digest": "turn off the daily digest", "add_manager": "add a manager", "remove_manager": "remove a manager",
}
# Parties of each refusal, in the order the message names them.
WHO = {
    "release": ["assignee"],
    "start": ["assignee", "requester", "manager"], "block": ["assignee", "requester", "manager"],
    "unblock": ["assignee", "requester", "manager"], "done": ["assignee", "requester", "manager"],
    "reopen": ["assignee", "requester", "manager"],
    "cancel": ["requester", "manager"], "reassign": ["requester", "manager"], "change_due": ["requester", "manager"],
    "snooze": ["assignee", "manager"], "pause_recurring": ["requester", "manager"],
    "set_digest": ["manager"], "stop_digest": ["manager"], "add_manager": ["admin"], "remove_manager": ["admin"],
    "reassign_or_release": ["assignee", "requester", "manager"],
}


def only(deed: str, name: Callable[[str], str]) -> str:
    """The refusal's `Only … can do that.` as the specification words it."""
    words = {
        "assignee": f"its assignee ({name(ANA)})",
        "requester": f"its requester ({name(RITA)})",
        "manager": f"a manager or an admin ({name(OWEN)}, {name(MIA)})",
        "admin": f"an admin ({name(OWEN)})",
    }
    parts = [words[p] for p in WHO[deed]]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    return f"Only {listed} can do that."


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


@pytest.fixture
def slack(slack: SlackStandIn) -> SlackStandIn:
    """The scenario workspace plus its Slack owner."""
    slack.add_user(OWEN, "owen", real_name="Owen Owner", tz="Europe/Berlin", is_owner=True)
    slack.add_member(GENERAL, OWEN)
    slack.add_member(POOL, OWEN)
    return slack


STATE_TABLES = ("task", "taskevent", "recurringtask", "digestsubscription", "rolegrant", "roleevent")


def stored(bot: Bot) -> dict[str, list[tuple[Any, ...]]]:
    """Everything an action may change (the outbox aside: a refusal queues its own ephemeral)."""
    with bot.handoff.services.db.read() as session:
        return {t: [tuple(r) for r in session.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2"))] for t in STATE_TABLES}


# -- set-ups: each leaves the thing acted on in the state the action starts from ----------------------


def _assigned(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices by Friday 5pm")


def _open(bot: Bot) -> None:
    bot.delegate("Check the shared inbox by Friday 5pm")


def _in_progress(bot: Bot) -> None:
    _assigned(bot)
    bot.tasks("start T-1", user=ANA)


def _blocked(bot: Bot) -> None:
    _in_progress(bot)
    bot.tasks("block T-1 waiting for the bank", user=ANA)


def _done(bot: Bot) -> None:
    _in_progress(bot)
    bot.tasks("done T-1", user=ANA)


def _recurring(bot: Bot) -> None:
    bot.delegate("<@UANA> Send the payroll report every Monday 9am")


def _digest(bot: Bot) -> None:
    assert bot.tasks("digest here at 9:00", user=MIA)["text"].startswith("📋")


def _nothing(bot: Bot) -> None:
    pass


SETUP = {
    "claim": _open, "release": _assigned, "start": _assigned, "block": _in_progress, "unblock": _blocked,
    "done": _in_progress, "reopen": _done, "cancel": _assigned, "reassign": _assigned, "change_due": _assigned,
    "snooze": _assigned, "pause_recurring": _recurring, "set_digest": _nothing, "stop_digest": _digest,
    "add_manager": _nothing, "remove_manager": _nothing,
}
COMMAND = {
    "claim": "claim T-1", "release": "release T-1", "start": "start T-1", "block": "block T-1 waiting on payroll",
    "unblock": "unblock T-1", "done": "done T-1", "reopen": "reopen T-1", "cancel": "cancel T-1 not needed",
    "reassign": "assign T-1 <@UBEN|ben>", "change_due": "due T-1 Monday 10am", "snooze": "snooze T-1 2h",
    "pause_recurring": "recurring pause R-1", "set_digest": "digest here at 9:00", "stop_digest": "digest off",
    "add_manager": "managers add <@UBEN|ben>", "remove_manager": "managers remove <@UMIA|mia>",
}
# The card's entry for each task action: a button, or an overflow menu entry (some open a modal).
ON_CARD = {
    "claim": "claim", "release": "reassign", "start": "start", "block": "block", "unblock": "unblock",
    "done": "done", "reopen": "reopen", "cancel": "cancel", "reassign": "reassign", "change_due": "due",
    "snooze": "snooze",
}
# What the modal of each action is filled in with ("release" is the reassign modal with nobody chosen).
MODAL_VALUES: dict[str, dict[str, Any]] = {
    "block": {"reason": {"value": "waiting on payroll"}},
    "cancel": {"reason": {"value": "not needed"}},
    "done": {"note": {"value": "sent"}},
    "reassign": {"assignee": {"value": {"type": "users_select", "selected_user": BEN}}},
    "release": {"assignee": {"value": {"type": "users_select", "selected_user": None}}},
    "change_due": {"due": {"value": "Monday 10am"}},
    "snooze": {"until": {"value": "2h"}},
}
# The card entry whose modal another person submits, for the modal-submission surface.
MODALS = {
    "block": "block", "done": "done_note", "cancel": "cancel", "reassign": "reassign", "release": "reassign",
    "change_due": "due", "snooze": "snooze",
}


@dataclass(frozen=True)
class Outcome:
    """What the person saw: mrkdwn text of an ephemeral or command answer, or a modal's plain-text error."""

    text: str
    plain: bool = False
    opened_modal: bool = False


def _card_element(bot: Bot, entry: str) -> tuple[str, str | None]:
    """Where the card offers `entry`: (`task_<entry>`, None) for a button, ("task_menu", value) in the menu."""
    def walk(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            return [node, *(x for v in node.values() for x in walk(v))]
        if isinstance(node, list):
            return [x for v in node for x in walk(v)]
        return []

    elements = walk(bot.card(1)["blocks"])
    if any(e.get("type") == "button" and e.get("action_id") == f"task_{entry}" for e in elements):
        return f"task_{entry}", None
    for element in elements:
        for option in element.get("options") or []:
            if str(option.get("value", "")).split(":", 1)[0] == entry:
                return str(element["action_id"]), str(option["value"])
    raise LookupError(f"the card offers no {entry!r}")


def _ephemeral_since(bot: Bot, user: str, seen: int) -> str:
    bot.deliver()
    told = bot.slack.ephemerals(user_id=user)[seen:]
    return "\n".join(str(e.get("text", "")) for e in told)


def by_command(bot: Bot, deed: str, user: str) -> Outcome:
    return Outcome(str(bot.tasks(COMMAND[deed], user=user)["text"]))


def on_card(bot: Bot, deed: str, user: str) -> Outcome:
    """A button, or a menu entry (and the modal it opens, filled in and submitted)."""
    bot.deliver()
    task = bot.task(1)
    assert task.card_ts is not None
    seen = len(bot.slack.ephemerals(user_id=user))
    views = len(bot.slack.open_views)
    action_id, value = _card_element(bot, ON_CARD[deed])
    if value is None:
        response = bot.client.click_button(user, task.card_channel_id, task.card_ts, action_id)
    else:
        response = bot.client.choose_option(user, task.card_channel_id, task.card_ts, action_id, value)
    assert response.status == 200
    if len(bot.slack.open_views) > views:
        modal = bot.slack.open_views[-1]
        answer = bot.client.view_submission(user, modal, MODAL_VALUES[deed])
        assert answer.status == 200
        if answer.body:
            return Outcome(" ".join(answer.json().get("errors", {}).values()), plain=True, opened_modal=True)
        return Outcome(_ephemeral_since(bot, user, seen), opened_modal=True)
    return Outcome(_ephemeral_since(bot, user, seen))


def modal_submission(bot: Bot, deed: str, user: str) -> Outcome:
    """The modal opened by someone who may, submitted by `user` (Slack would not; a forger might)."""
    bot.deliver()
    task = bot.task(1)
    assert task.card_ts is not None
    opener = OPENER[deed]
    action_id, value = _card_element(bot, MODALS[deed])
    if value is None:
        bot.client.click_button(opener, task.card_channel_id, task.card_ts, action_id)
    else:
        bot.client.choose_option(opener, task.card_channel_id, task.card_ts, action_id, value)
    modal = bot.slack.open_views[-1]
    assert modal["callback_id"] == f"task_{MODALS[deed]}_modal"
    answer = bot.client.view_submission(user, modal, MODAL_VALUES[deed])
    assert answer.status == 200
    errors = answer.json().get("errors", {}) if answer.body else {}
    return Outcome(" ".join(errors.values()), plain=True)


# Who opens the modal that another person then submits.
OPENER = {deed: ANA if deed in {"snooze", "release"} else RITA for deed in MODALS}


SURFACES: dict[str, Callable[[Bot, str, str], Outcome]] = {
    "slash command": by_command, "card": on_card, "modal submitted by another": modal_submission,
}
CASES = [
    *((deed, "slash command") for deed in MAY),
    *((deed, "card") for deed in ON_CARD),
    *((deed, "modal submitted by another") for deed in MODALS),
]


def _applies(deed: str, surface: str, role: str) -> bool:
    if deed == "claim" and role == "assignee":
        return False  # an open task has no assignee
    # The person the modal was opened for is covered by the card surface.
    return not (surface == "modal submitted by another" and ROLES[role] == OPENER[deed])


# Only the combinations that apply: in CI every test runs, none is skipped.
WHO_MAY = [(deed, surface, role) for deed, surface in CASES for role in ROLES if _applies(deed, surface, role)]


@pytest.mark.parametrize(
    ("deed", "surface", "role"), WHO_MAY, ids=[f"{d}-by-{s.replace(' ', '-')}-{r}" for d, s, r in WHO_MAY]
)
def test_who_may_do_what(bot: Bot, deed: str, surface: str, role: str) -> None:
    user = ROLES[role]
    bot.tasks("managers")  # the first request seeds HANDOFF_MANAGERS, before anything is compared
    SETUP[deed](bot)
    bot.deliver()
    before = stored(bot)
    outcome = SURFACES[surface](bot, deed, user)
    after = stored(bot)
    if role in MAY[deed]:
        assert "can't" not in outcome.text and "⚠️" not in outcome.text, outcome
        assert after != before, "an allowed action changed nothing"
    else:
        name = (lambda u: NAMES[u]) if outcome.plain else mention
        if deed in {"release", "reassign"} and surface == "card" and role not in MAY["reassign"] | MAY["release"]:
            # The card's "Reassign or release…" refuses to open for someone who may do neither.
            assert "You can't reassign or release T-1." in outcome.text, outcome
            assert only("reassign_or_release", name) in outcome.text, outcome
        else:
            assert f"You can't {VERB[deed]}." in outcome.text, outcome
            assert only(deed, name) in outcome.text, outcome
        if outcome.plain:
            assert "<@" not in outcome.text, "modal errors are plain text"
        if surface == "card" and outcome.opened_modal:
            # Told before filling a modal in, unless the modal also does something they may do.
            assert deed in {"release", "reassign"} and role in MAY["release"] | MAY["reassign"], outcome
        assert after == before, "a refusal changed something"


# -- roles themselves ----------------------------------------------------------------------------------


def _role_events(bot: Bot) -> list[tuple[str, str, str]]:
    with bot.handoff.services.db.read() as session:
        rows = session.execute(text("SELECT kind, user_id, actor_id FROM roleevent ORDER BY id"))
        return [(str(k), str(u), str(a)) for k, u, a in rows]


def test_typing_digest_here_no_longer_makes_anyone_a_manager(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    answer = bot.tasks("digest here at 9:00", user=BEN)["text"]
    assert answer.startswith("⚠️ You can't set up the daily digest.")
    # Ben can't then cancel someone else's task, as the old digest command let him.
    assert "You can't cancel T-1" in bot.tasks("cancel T-1", user=BEN)["text"]
    assert stored(bot)["digestsubscription"] == []


def test_an_admin_adds_and_removes_managers_and_every_change_is_in_the_history(bot: Bot) -> None:
    listed = bot.tasks("managers", user=BEN)
    shown = json.dumps(listed["blocks"])
    assert "<@UOWEN>" in shown and "<@UMIA>" in shown and "HANDOFF_MANAGERS" in shown

    added = bot.tasks("managers add <@UBEN|ben>", user=OWEN)["text"]
    assert added == "👔 <@UBEN> is now a manager; I've let them know."
    bot.deliver()
    assert "made you a Handoff manager" in bot.slack.dms(BEN)[-1]["text"]
    # Ben may now do what managers do.
    assert bot.tasks("digest here at 9:00", user=BEN)["text"].startswith("📋")
    assert bot.tasks("managers add <@UBEN|ben>", user=OWEN)["text"].startswith("⚠️ <@UBEN> is a manager already")
    assert bot.tasks("managers remove <@UMIA|mia>", user=OWEN)["text"] == "<@UMIA> is no longer a manager."
    assert bot.tasks("managers remove <@UMIA|mia>", user=OWEN)["text"].startswith("⚠️ <@UMIA> is not a manager")
    assert _role_events(bot) == [
        ("granted", MIA, "HANDOFF_MANAGERS"), ("granted", BEN, OWEN), ("revoked", MIA, OWEN),
    ]
    history = json.dumps(bot.tasks("managers")["blocks"])
    assert history.index("removed <@UMIA> as a manager") < history.index("made <@UBEN> a manager")
    assert "Only a manager or an admin" not in history


def test_a_removed_seeded_manager_stays_removed_after_a_restart(slack: SlackStandIn, db_url: str,
                                                                 clock: FakeClock) -> None:
    upgrade(db_url)
    first = create_app(settings_for(slack, db_url), db=Database.from_url(db_url), clock=clock)
    try:
        first.services.seed_roles(TEAM)
        owen = first.services.actor(OWEN, TEAM)
        with first.services.db.transaction() as session:
            revoke_manager(session, team_id=TEAM, actor=owen, user_id=MIA, now=clock())
    finally:
        first.close()
    again = create_app(settings_for(slack, db_url), db=Database.from_url(db_url), clock=clock)
    try:
        assert again.services.actor(MIA, TEAM).role is WorkspaceRole.MEMBER
    finally:
        again.close()


def test_handoff_admins_are_admins_and_slack_admins_are_too(slack: SlackStandIn, db_url: str,
                                                            clock: FakeClock) -> None:
    slack.add_user("UADA", "ada", real_name="Ada Admin", is_admin=True)
    upgrade(db_url)
    handoff = create_app(settings_for(slack, db_url, admins=frozenset({BEN})), db=Database.from_url(db_url),
                         clock=clock)
    try:
        roles = {user: handoff.services.actor(user, TEAM).role for user in (BEN, "UADA", OWEN, MIA, RITA)}
    finally:
        handoff.close()
    assert roles == {BEN: WorkspaceRole.ADMIN, "UADA": WorkspaceRole.ADMIN, OWEN: WorkspaceRole.ADMIN,
                     MIA: WorkspaceRole.MANAGER, RITA: WorkspaceRole.MEMBER}


def test_with_many_managers_a_refusal_names_the_role(bot: Bot) -> None:
    for user in ("UM1", "UM2", "UM3"):
        bot.slack.add_user(user, user.lower())
        assert bot.tasks(f"managers add <@{user}>", user=OWEN)["text"].startswith("👔")
    answer = bot.tasks("digest off", user=BEN)["text"]
    assert answer == "⚠️ You can't turn off the daily digest.\nOnly a manager or an admin can do that."
    bot.tasks("managers remove <@UM3>", user=OWEN)  # three left: named again
    answer = bot.tasks("digest off", user=BEN)["text"]
    assert "(<@UOWEN>, <@UM1>, <@UM2>, <@UMIA>)" not in answer and "a manager or an admin can" in answer
    bot.tasks("managers remove <@UM2>", user=OWEN)
    answer = bot.tasks("digest off", user=BEN)["text"]
    assert "Only a manager or an admin (<@UOWEN>, <@UM1>, <@UMIA>) can do that." in answer


def test_escalations_reach_the_managers_an_admin_granted(bot: Bot) -> None:
    bot.tasks("managers add <@UBEN|ben>", user=OWEN)
    bot.tasks("managers remove <@UMIA|mia>", user=OWEN)
    with bot.handoff.services.db.transaction() as session:
        from scheduler.jobs import _managers

        assert _managers(session, TEAM, bot.handoff.services.clock(), bot.handoff.services.config) == [BEN]
