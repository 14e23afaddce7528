"""Answers that quote what someone typed are well-formed mrkdwn, as the strict stand-in demands."""

from __future__ import annotations

from sandbox.blockkit import mrkdwn_problems
from tests.scenarios.conftest import Bot

TYPED = "Send <acct 4402> & R&D <!channel>"


def test_an_error_quoting_a_typed_date_escapes_it_and_keeps_our_own_mentions(bot: Bot) -> None:
    bot.delegate("<@UANA> Reconcile October invoices")
    bot.deliver()
    answer = bot.tasks(f"due T-1 {TYPED}")
    assert mrkdwn_problems(answer["text"]) == []
    assert "Send &lt;acct 4402&gt; &amp; R&amp;D &lt;!channel&gt;" in answer["text"]
    refused = bot.tasks("snooze T-1 2h", user="UBEN")  # names the assignee: our mention stays live
    assert "<@UANA>" in refused["text"] and mrkdwn_problems(refused["text"]) == []


def test_a_tag_with_an_ampersand_is_escaped_in_the_list_heading(bot: Bot) -> None:
    answer = bot.tasks("#r&d")
    assert answer["text"] == "No open tasks tagged #r&amp;d."
    assert all(mrkdwn_problems(b["text"]["text"]) == [] for b in answer["blocks"])
