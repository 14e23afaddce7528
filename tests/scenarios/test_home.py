"""The Home tab, as people see it: opened, used, kept fresh, and paged within Slack's 100 blocks."""

from __future__ import annotations

from typing import Any

from tests.conftest import FakeClock
from tests.scenarios.conftest import ANA, BEN, MIA, RITA, TEAM, Bot


def open_home(bot: Bot, user: str) -> dict[str, Any]:
    response = bot.client.app_home_opened(user)
    assert response.status == 200, response.body
    bot.deliver()
    return home_of(bot, user)


def home_of(bot: Bot, user: str) -> dict[str, Any]:
    view = bot.slack.home_views[user]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return view


def text_of(view: dict[str, Any]) -> str:
    parts = []
    for block in view["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            parts.append(element.get("text", "") if isinstance(element.get("text"), str) else "")
    return "\n".join(parts)


def headers(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def click(bot: Bot, user: str, action_id: str, value: str | None = None) -> None:
    view = home_of(bot, user)
    response = bot.client.act_in_view(user, view["id"], action_id, value)
    assert response.status == 200, response.body
    bot.deliver()


def test_my_tasks_are_grouped_by_when_they_are_due_with_their_next_step(bot: Bot, clock: FakeClock) -> None:
    bot.delegate(f"<@{ANA}> Send the 941 in 2 hours")
    bot.delegate(f"<@{ANA}> File the receipts by Friday")
    bot.delegate(f"<@{ANA}> Reconcile the bank feed")
    bot.delegate(f"<@{ANA}> Call the bank in 1 hour")
    bot.deliver()
    clock.advance(hours=1, minutes=30)  # T-4 is overdue now; T-1 due later today (London)
    view = open_home(bot, ANA)
    text = text_of(view)
    assert headers(view)[:2] == ["My tasks", "Delegated by me"] and "The team this week" not in headers(view)
    order = [text.index(label) for label in ("⏰ Overdue", "📅 Due today", "🗓️ Coming up", "No due date")]
    assert order == sorted(order)
    assert text.index("Call the bank") < text.index("Send the 941") < text.index("File the receipts")
    starts = [b for b in view["blocks"] if b.get("accessory", {}).get("action_id") == "task_start"]
    assert len(starts) == 4

    click(bot, ANA, "task_start", "3")
    assert bot.task(3).status == "in_progress"
    # Her tab was refreshed by the change: T-3's next step is Done now.
    done = [b for b in home_of(bot, ANA)["blocks"] if b.get("accessory", {}).get("action_id") == "task_done"]
    assert [b["accessory"]["value"] for b in done] == ["3"]


def test_what_i_delegated_stays_fresh_when_someone_else_moves_it(bot: Bot) -> None:
    bot.delegate("Renew the domain")  # Rita's, in the pool
    bot.deliver()
    assert "_unclaimed_" in text_of(open_home(bot, RITA))
    bot.client.click_button(BEN, bot.task(1).card_channel_id, str(bot.task(1).card_ts), "task_claim")
    bot.deliver()
    assert f"<@{BEN}>" in text_of(home_of(bot, RITA))  # published again without Rita doing anything


def test_managers_see_the_team_and_the_pool_and_can_assign_from_it(bot: Bot) -> None:
    bot.delegate(f"<@{ANA}> Pay the rent")
    bot.delegate("Order toner")
    bot.deliver()
    view = open_home(bot, MIA)
    assert "The team this week" in headers(view)
    text = text_of(view)
    assert f"<@{ANA}> · 1 open" in text and "In the pool:* 1 waiting" in text and "Order toner" in text
    click(bot, MIA, "task_menu", "reassign:2")
    assert any(v["callback_id"] == "task_reassign_modal" for v in bot.slack.open_views)


def test_a_long_list_pages_within_the_block_limit_and_every_task_can_be_reached(bot: Bot) -> None:
    for n in range(1, 41):
        bot.delegate(f"<@{ANA}> Invoice {n:02d} in {n} hours")
    for n in range(1, 26):
        bot.delegate(f"<@{BEN}> Payslip {n:02d}", user=ANA)
    bot.deliver()
    view = open_home(bot, ANA)
    seen: set[str] = set()
    pages = 0
    while pages < 10:
        pages += 1
        text = text_of(view)
        seen |= {f"Invoice {n:02d}" for n in range(1, 41) if f"Invoice {n:02d}" in text}
        nexts = [e for b in view["blocks"] if b.get("block_id") == "page_mine" for e in b["elements"]
                 if e["value"].startswith("mine:") and "Next" in e["text"]["text"]]
        if not nexts:
            break
        click(bot, ANA, "home_page_next", nexts[0]["value"])
        view = home_of(bot, ANA)
    assert pages == 4 and len(seen) == 40
    assert "Page 4 of 4 · 40 in all" in text_of(view)
    # Delegated by her: 25, eight a page.
    for page in ("delegated:2", "delegated:3", "delegated:4"):
        click(bot, ANA, "home_page_next", page)
    assert "Payslip 25" in text_of(home_of(bot, ANA))


def test_settings_on_the_home_tab(bot: Bot) -> None:
    view = open_home(bot, ANA)
    assert "Morning queue:* off" in text_of(view)
    click(bot, ANA, "home_morning", "on")
    assert "Morning queue:* on" in text_of(home_of(bot, ANA))

    click(bot, ANA, "home_notify", "needed")
    assert "Quiet hours:* on" in text_of(home_of(bot, ANA))  # on by default
    click(bot, ANA, "home_quiet", "off")
    assert "Quiet hours:* off" in text_of(home_of(bot, ANA))
    assert not bot.handoff.services.directory.person(TEAM, ANA).quiet
    notify = next(b for b in home_of(bot, ANA)["blocks"] if b.get("accessory", {}).get("action_id") == "home_notify")
    assert notify["accessory"]["initial_option"]["value"] == "needed"

    click(bot, ANA, "home_hours")
    [modal] = [v for v in bot.slack.open_views if v["callback_id"] == "home_hours_modal"]
    wrong = bot.client.view_submission(ANA, modal, {"hours": {"value": "whenever"}})
    assert wrong.json()["response_action"] == "errors" and "hours" in wrong.json()["errors"]
    right = bot.client.view_submission(ANA, modal, {"hours": {"value": "8:00-16:00 mon-thu"}})
    assert right.status == 200 and not right.body
    bot.deliver()
    assert "08:00–16:00" in text_of(home_of(bot, ANA)) or "8:00" in text_of(home_of(bot, ANA))


def test_the_new_task_button_opens_the_creation_modal(bot: Bot) -> None:
    open_home(bot, RITA)
    click(bot, RITA, "home_new_task")
    assert [v["callback_id"] for v in bot.slack.open_views] == ["new_task_modal"]


def test_the_home_tab_is_published_again_each_time_it_is_opened(bot: Bot, clock: FakeClock) -> None:
    bot.delegate(f"<@{ANA}> Chase the invoice in 1 hour")
    bot.deliver()
    assert "📅 Due today" in text_of(open_home(bot, ANA))
    clock.advance(hours=2)
    assert "⏰ Overdue" in text_of(open_home(bot, ANA))  # time moved it: opening again shows it
    assert bot.slack.calls_to("views.publish")[-1].params["user_id"] == ANA
