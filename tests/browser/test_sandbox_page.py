"""The browser workspace in a real browser: Debian's Chromium, headless, driven by Playwright.

Delegate, claim by reaction, click Done, set up a digest, fast-forward the clock and open the digest
thread, all by clicking and typing in the page, which sends signed requests to the real bot.

Needs Chromium (`apt-get install chromium`); skipped without it unless HANDOFF_REQUIRE_BROWSER=1 (as in
CI), where a missing browser fails. HANDOFF_SCREENSHOT=path saves the final page (the README's picture).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from models.enums import TaskStatus
from models.tasks import find_task
from sandbox.web import SandboxWeb
from sandbox.workspace import TEAM, Workspace, workspace

playwright_api = pytest.importorskip("playwright.sync_api")
Page = playwright_api.Page
expect = playwright_api.expect

# Monday 30 November 2026, 09:00 in New York.
START = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
# Chromium's own calls home are refused on a closed network; these flags stop it making them.
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium() -> str:
    path = os.environ.get("HANDOFF_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("HANDOFF_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium is required here: apt-get install chromium (or set HANDOFF_CHROMIUM)")
    pytest.skip("no Chromium: apt-get install chromium to run the browser test")


@pytest.fixture
def sandbox() -> Iterator[tuple[Workspace, str]]:
    with workspace(START, live=True) as ws:
        web = SandboxWeb(ws).start()
        try:
            yield ws, web.url
        finally:
            web.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    executable = chromium()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        problems: list[str] = []
        tab.on("pageerror", lambda error: problems.append(str(error)))
        tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        yield tab
        browser.close()
        assert problems == [], problems


def be(page: Page, user: str) -> None:
    """Pick who you are in the sidebar."""
    page.select_option("#as-user", user)
    expect(page).to_have_url(re.compile(f"as={user}"))


def open_conversation(page: Page, conversation: str) -> None:
    page.click(f'[data-conversation="{conversation}"]')


def snap(page: Page, name: str) -> None:
    """With HANDOFF_SURFACES_DIR=docs/surfaces, save what the page shows now as <name>.png (the README's pictures)."""
    folder = os.environ.get("HANDOFF_SURFACES_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def type_in(page: Page, text: str, *, composer: str = "#composer") -> None:
    page.fill(composer, text)
    page.press(composer, "Enter")


def test_delegate_claim_done_and_read_the_digest_thread(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=URITA&c=CGENERAL")
    # Two commands typed one after the other, as fast as the page takes them: the box clears at once.
    type_in(page, "/delegate Reconcile October invoices by Friday 5pm !high #bookkeeping")
    expect(page.locator("#composer")).to_have_value("")
    type_in(page, "/delegate Sort the shared inbox by tomorrow noon")
    confirmation = page.locator(".message.ephemeral", has_text="in the pool for someone to claim")
    expect(confirmation).to_have_count(2)
    expect(confirmation.first).to_contain_text("Only visible to you")
    expect(confirmation.first).to_contain_text("T-1")

    # Ana claims the first card by reacting with ✋ in #va-pool.
    be(page, "UANA")
    expect(page.locator(".message.ephemeral")).to_have_count(0)  # Rita's confirmations are hers alone
    open_conversation(page, "CPOOL")
    card = page.locator(".message", has_text="Reconcile October invoices")
    expect(card).to_contain_text("Unclaimed")
    card.hover()
    card.locator(".add-reaction").click()
    page.click('[data-emoji="raised_hand"]')
    expect(card).to_contain_text("Assigned")
    expect(card.locator(".mention", has_text="@ana")).to_be_visible()  # a mention, shown as the name
    expect(card.locator('.reaction[data-name="raised_hand"]')).to_contain_text("1")

    # ...and finishes it with the card's button.
    card.locator('button[data-action-id="task_done"]').click()
    expect(card).to_contain_text("Done")
    expect(card.locator('button[data-action-id="task_reopen"]')).to_be_visible()
    with ws.handoff.services.db.read() as session:
        assert find_task(session, team_id=TEAM, number=1).status is TaskStatus.DONE

    # Mia asks for a digest at 09:00 her time, then moves the clock to her next working morning.
    be(page, "UMIA")
    open_conversation(page, "CDIGEST")
    type_in(page, "/tasks digest here at 9:00")
    expect(page.locator(".message.ephemeral")).to_contain_text("9:00")
    clock_before = page.inner_text("#clock")
    page.click('[data-advance="morning"]')
    digest = page.locator(".message", has_text="Daily digest")
    expect(digest).to_be_visible()
    expect(page.locator("#clock")).not_to_have_text(clock_before)
    digest.locator(".thread-link").click()
    thread = page.locator("#thread-pane")
    expect(thread).to_be_visible()
    expect(thread).to_contain_text("Unclaimed")
    expect(thread).to_contain_text("Sort the shared inbox")

    # An hour later, the clock says so.
    clock_before = page.inner_text("#clock")
    page.click('[data-advance="1h"]')
    expect(page.locator("#clock")).not_to_have_text(clock_before)
    shot = os.environ.get("HANDOFF_SCREENSHOT")
    if shot:
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot)


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5 and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    )


def test_broadcasts_and_the_card_menu_near_the_message_box(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    # A short window, as on a laptop: the cards sit just above the message box.
    page.set_viewport_size({"width": 1280, "height": 620})
    page.goto(f"{url}?as=URITA&c=CGENERAL")

    # A typed @here goes out as Slack's <!here>: shown as a broadcast mention, not as plain text.
    type_in(page, "@here the October invoices are in")
    message = page.locator(".message", has_text="the October invoices are in")
    expect(message.locator(".mention.broadcast")).to_have_text("@here")
    assert ws.slack.messages("CGENERAL")[0]["text"] == "<!here> the October invoices are in"

    filler = "\n".join(f"note {n}" for n in range(12))
    type_in(page, filler)
    type_in(page, "/delegate @ana Reconcile October invoices by Friday 5pm")
    expect(page.locator('.message button.overflow[data-action-id="task_menu"]')).to_have_count(1)
    type_in(page, filler)
    button = page.locator('.message button.overflow[data-action-id="task_menu"]')
    composer = page.locator(".composer").first.bounding_box()
    assert composer is not None
    viewport = {"x": 0, "y": 0, "width": 1280, "height": 620}
    # The card's ⋯, wherever it sits in the message list, opens a menu that is whole, on screen, clear
    # of the message box and on top of everything where it is drawn.
    for where in (0.05, 0.3, 0.5, 0.62, 0.7, 0.8, 0.95):
        button.evaluate(
            "(el, where) => { const list = document.getElementById('messages');"
            " const pane = list.getBoundingClientRect();"
            " list.scrollTop += el.getBoundingClientRect().bottom - (pane.top + where * pane.height); }",
            where,
        )
        button.click()
        menu = page.locator(".overflow-menu")
        expect(menu).to_be_visible()
        box = menu.bounding_box()
        assert box is not None
        assert _inside(box, viewport), (where, box)
        assert not _overlap(box, composer), (where, box, composer)
        for item in menu.locator('[role="menuitem"]').all():
            on_top = item.evaluate(
                "(el) => { const r = el.getBoundingClientRect();"
                " return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }"
            )
            assert on_top, (where, item.inner_text())
        shot = os.environ.get("HANDOFF_MENU_SCREENSHOT")
        if shot and where == 0.95:
            Path(shot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=shot)
        page.keyboard.press("Escape")
        expect(menu).to_have_count(0)
    # The menu still works: choose an entry and its modal opens.
    button.click()
    page.locator('.overflow-menu [role="menuitem"]', has_text="Change due date").click()
    expect(page.locator(".modal")).to_be_visible()


def test_a_message_made_into_a_task_from_its_menu_and_a_task_from_the_lightning_shortcut(
    sandbox: tuple[Workspace, str], page: Page
) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=UMIA&c=CGENERAL")
    type_in(page, "Can someone renew the Xero subscription by Friday?\nThe card on file expires this month.")
    be(page, "URITA")
    message = page.locator(".message", has_text="renew the Xero subscription").first
    message.hover()
    message.locator(".more-actions").click()
    page.locator('.shortcut-menu [data-callback-id="delegate_message"]').click()
    modal = page.locator(".modal")
    expect(modal).to_contain_text("@mia")  # the author, shown as context
    title = modal.locator('[data-block-id="title"] input')
    expect(title).to_have_value("Can someone renew the Xero subscription")
    expect(modal.locator('[data-block-id="details"] textarea')).to_have_value(re.compile("expires this month"))
    shot = os.environ.get("HANDOFF_SHORTCUT_SCREENSHOT")
    if shot:  # the README's picture of the prefilled form
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=shot)
    # A tag Slack would take but Handoff can't: the error shows under its field, the form stays open.
    modal.locator('[data-block-id="tags"] input').fill("#bills no!pe")
    modal.locator(".modal-submit").click()
    expect(modal.locator('[data-block-id="tags"] .input-error')).to_contain_text("not a tag")
    modal.locator('[data-block-id="tags"] input').fill("#bills")
    modal.locator('[data-block-id="assignee"] select').select_option("UANA")
    modal.locator(".modal-submit").click()
    expect(page.locator(".modal")).to_have_count(0)
    card = page.locator(".message", has_text="T-1").filter(has_text="From").first
    expect(card).to_contain_text("renew the Xero subscription")
    expect(card.locator(".mention", has_text="@ana")).to_be_visible()
    # The source message's thread says what became of it.
    expect(message).to_contain_text("1 reply")
    with ws.handoff.services.db.read() as session:
        task = find_task(session, team_id=TEAM, number=1)
        assert task.source_author_id == "UMIA" and task.tags == ["bills"] and task.details

    # ⚡ in the message box: a task from nothing, its card in the pool channel picked in the form.
    page.click("#shortcuts")
    page.locator('.shortcut-menu [data-callback-id="new_task"]').click()
    modal = page.locator(".modal")
    modal.locator('[data-block-id="title"] input').fill("Chase the bank statement")
    modal.locator('[data-block-id="channel"] select').select_option("CPOOL")
    modal.locator(".modal-submit").click()
    expect(page.locator(".modal")).to_have_count(0)
    open_conversation(page, "CPOOL")
    expect(page.locator(".message:not(.ephemeral)", has_text="Chase the bank statement")).to_contain_text("Unclaimed")
    # Rita's confirmation, for her alone, where the card went.
    expect(page.locator(".message.ephemeral", has_text="Chase the bank statement")).to_contain_text("Created")


def test_mentions_and_the_handoff_dm_make_tasks(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=URITA&c=CGENERAL")
    type_in(page, "@handoff @ana send the W-9 to Acme by Friday")
    card = page.locator(".message:not(.ephemeral)", has_text="T-1").filter(has_text="send the W-9 to Acme")
    expect(card).to_contain_text("Assigned")
    expect(page.locator(".message.ephemeral", has_text="Created")).to_contain_text("T-1")
    snap(page, "mention")
    # A mention the grammar can't read is answered to Rita alone, where she wrote it.
    type_in(page, "@handoff @ana file it by Fridayy")
    expect(page.locator(".message.ephemeral", has_text="Did you mean")).to_be_visible()

    # In the Handoff DM: delegate, then ask what /tasks answers.
    dm = ws.slack.dm_id("URITA")
    open_conversation(page, dm)
    type_in(page, "@ben prepare the W-2s by Friday")
    messages = page.locator(".message", has_text="prepare the W-2s")
    expect(messages.filter(has_text="Requester")).to_contain_text("Assigned")  # the card, in this DM
    expect(messages.filter(has_text="Created")).to_contain_text("T-2")
    type_in(page, "delegated")
    expect(page.locator(".message", has_text="Tasks you delegated")).to_contain_text("T-2")
    snap(page, "dm")
    with ws.handoff.services.db.read() as session:
        assert find_task(session, team_id=TEAM, number=2).assignee_id == "UBEN"


def test_a_ticket_reaction_and_an_intake_channel_make_tasks(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=UANA&c=CGENERAL")
    type_in(page, "The printer on 3 is out of toner again")
    be(page, "URITA")
    message = page.locator(".message", has_text="out of toner").first
    message.hover()
    message.locator(".add-reaction").click()
    page.click('[data-emoji="ticket"]')
    expect(message).to_contain_text("1 reply")  # "made this into T-1", linking the card in the pool
    snap(page, "ticket")
    open_conversation(page, "CPOOL")
    expect(page.locator(".message:not(.ephemeral)", has_text="out of toner")).to_contain_text("Unclaimed")

    # Mia makes #general an intake channel: Ben's next message there becomes a task on its own.
    be(page, "UMIA")
    open_conversation(page, "CGENERAL")
    type_in(page, "/tasks intake here")
    expect(page.locator(".message.ephemeral", has_text="intake channel")).to_be_visible()
    be(page, "UBEN")
    type_in(page, "Refund the duplicate charge for order 1182 !urgent")
    expect(page.locator(".message.ephemeral", has_text="Created")).to_contain_text("T-2")
    snap(page, "intake")
    with ws.handoff.services.db.read() as session:
        task = find_task(session, team_id=TEAM, number=2)
        assert (task.requester_id, task.priority, task.card_channel_id) == ("UBEN", "urgent", "CPOOL")


def test_the_team_roster_with_its_skills_and_who_is_at_work(sandbox: tuple[Workspace, str], page: Page) -> None:
    _ws, url = sandbox
    page.goto(f"{url}?as=UMIA&c=CGENERAL")
    type_in(page, "/tasks team add @chen capacity:6")
    expect(page.locator(".message.ephemeral", has_text="is updated")).to_contain_text("inbox, support")
    type_in(page, "/tasks team")
    roster = page.locator(".message.ephemeral", has_text="The team")
    expect(roster).to_contain_text("bookkeeping, payroll · back office")
    expect(roster).to_contain_text("inbox, support · front office")
    expect(roster).to_contain_text("0 open of 6")
    type_in(page, "/tasks away @ben for 2 days training")
    expect(page.locator(".message.ephemeral", has_text="is away (training)")).to_be_visible()
    type_in(page, "/tasks team")
    expect(page.locator(".message.ephemeral", has_text="The team").last).to_contain_text("away until")
    snap(page, "team")


def test_the_home_tab_shows_my_tasks_and_their_next_step(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=URITA&c=CGENERAL")
    type_in(page, "/delegate @ana Send the 941 by tomorrow 5pm")
    expect(page.locator(".message.ephemeral", has_text="Created")).to_be_visible()
    be(page, "UANA")
    page.click('#sidebar a[data-conversation="home"]')
    home = page.locator("#home-view")
    expect(home).to_contain_text("My tasks")
    expect(home).to_contain_text("Send the 941")
    home.locator('button[data-action-id="task_start"]').click()
    # The tab is published again by the change: the task's next step is Done now.
    expect(home.locator('button[data-action-id="task_done"]')).to_be_visible()
    snap(page, "home")
    with ws.handoff.services.db.read() as session:
        assert find_task(session, team_id=TEAM, number=1).status is TaskStatus.IN_PROGRESS
    # Quiet hours are on until she turns them off, here or with /tasks quiet off.
    expect(home).to_contain_text("Quiet hours: on")
    home.locator('button[data-action-id="home_quiet"]').click()
    expect(home).to_contain_text("Quiet hours: off")
    home.locator('button[data-action-id="home_new_task"]').click()
    expect(page.locator(".modal")).to_contain_text("New task")


def test_replies_in_a_cards_thread_are_comments_its_people_hear_of(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=URITA&c=CGENERAL")
    type_in(page, "/delegate @ana Send the W-9 to Acme")
    card = page.locator(".message:not(.ephemeral)", has_text="Send the W-9 to Acme").filter(has_text="Requester")
    expect(card).to_be_visible()
    be(page, "UBEN")
    card.hover()
    card.locator(".reply-in-thread").click()
    type_in(page, "Is this the Boston Acme?", composer="#thread-composer")
    expect(page.locator("#thread-messages")).to_contain_text("Is this the Boston Acme?")
    page.click('[data-advance="10m"]')
    be(page, "UANA")
    open_conversation(page, ws.slack.dm_id("UANA"))
    expect(page.locator(".message", has_text="1 new comment on")).to_contain_text("Is this the Boston Acme?")
    snap(page, "comments")


def test_a_tasks_details_and_editing_it(sandbox: tuple[Workspace, str], page: Page) -> None:
    ws, url = sandbox
    page.goto(f"{url}?as=URITA&c=CGENERAL")
    type_in(page, "/delegate @ana Send the W-9 by Friday")
    card = page.locator(".message:not(.ephemeral)", has_text="T-1 ·").filter(has_text="Requester")
    card.locator('button[data-action-id="task_details"]').click()
    modal = page.locator(".modal")
    expect(modal).to_contain_text("History")
    snap(page, "details")
    modal.locator('button[data-action-id="task_edit"]').click()
    expect(page.locator(".modal")).to_contain_text("Edit T-1")
    page.locator('.modal [data-block-id="title"] input').fill("Send the signed W-9")
    page.locator(".modal .modal-submit").click()
    expect(page.locator(".modal")).not_to_contain_text("Edit T-1")  # the form closed, the details beneath
    expect(card).to_contain_text("Send the signed W-9")
    with ws.handoff.services.db.read() as session:
        assert find_task(session, team_id=TEAM, number=1).title == "Send the signed W-9"
