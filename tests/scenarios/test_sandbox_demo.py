"""`python -m bot sandbox`: the browser workspace and the scripted tour run the real bot end to end."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What `python -m bot sandbox --script demo` prints (played once for the tests that read it)."""
    folder = tmp_path_factory.mktemp("tour")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder)}  # no Slack settings, no .env
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", "demo"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_demo_tour_plays_through(tour: str) -> None:
    out = tour
    for line in (
        "[only visible to @rita] Handoff: ✅ Created *T-1* in the pool",
        "[#va-pool]   ↳ (thread) Handoff: ✋ @ana claimed this",
        "[#va-pool]   ↳ (thread) Handoff: ⏰ This is now overdue.",
        "[DM to @mia] Handoff: 🚨 T-1",
        "[#ops-digest] Handoff: 📋 Daily digest for 2026-12-07",
        "[DM to @rita] Handoff: ✅ @ana finished T-1",
        "✅ tour complete",
    ):
        assert line in out, line
    # Mia set the digest up after 09:00 her time: no digest for that same day.
    assert "Daily digest for 2026-12-02" not in out


def test_the_demo_shows_each_date_as_its_reader_sees_it_and_labels_every_ephemeral_alike(tour: str) -> None:
    out = tour
    # Due Friday 17:00 in New York: 22:00 for Ana in London, who is reminded that same morning; on
    # Monday it is Friday's date, at 5 PM for Rita and 4 PM for Mia in Chicago.
    for line in (
        "[DM to @ana] Handoff: ⏳ Reminder: T-1 *Reconcile October invoices* is due today at 10:00 PM.",
        "[DM to @rita] Handoff: 🚨 T-1 *Reconcile October invoices* is still overdue (due Dec 4, 2026 at 5:00 PM)",
        "[DM to @mia] Handoff: 🚨 T-1 *Reconcile October invoices* is still overdue (due Dec 4, 2026 at 4:00 PM)",
    ):
        assert line in out, line
    assert "UTC" not in out and "<!date" not in out
    # Every message only one person sees says so the same way, naming them.
    labels = set(re.findall(r"^  (\[only [^\]]*\])", out, flags=re.MULTILINE))
    assert labels == {"[only visible to @mia]", "[only visible to @rita]", "[only visible to @ben]"}, labels
    assert "[only visible to @ben] Handoff: ⚠️ T-1 already belongs to @ana" in out


def test_the_browser_workspace_starts_prints_its_url_and_stops_cleanly(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no Slack settings, no .env
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--start", "2026-11-30T09:00-05:00"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        match = re.search(r"Open (http://127\.0\.0\.1:\d+/) in your browser", "".join(lines))
        assert match, lines
        url = match.group(1)
        with urllib.request.urlopen(url, timeout=10) as page:
            assert "<title>" in page.read().decode()
        body = json.dumps({"user": "URITA", "channel": "CGENERAL", "text": "/delegate Pay the October rent"})
        request = urllib.request.Request(url + "api/send", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read()) == {"ok": True}
        with urllib.request.urlopen(url + "api/state?user=URITA", timeout=10) as answer:
            state = json.loads(answer.read())
        assert any("T-1" in e["text"] for e in state["ephemerals"])
        # The clock starts where it was told to.
        assert abs(state["now"] - 1_796_047_200) < 60
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopping the sandbox" in out
