"""`python -m bot sandbox`: the browser workspace and the scripted tour run the real bot end to end."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path


def test_the_demo_tour_plays_through(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no Slack settings, no .env
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for line in (
        "[only @rita] Handoff: ✅ Created *T-1* in the pool",
        "[#va-pool]   ↳ (thread) Handoff: ✋ @ana claimed this",
        "[DM to @ana] Handoff: ⏳ Reminder: T-1",
        "[#va-pool]   ↳ (thread) Handoff: ⏰ This is now overdue.",
        "[DM to @mia] Handoff: 🚨 T-1",
        "[#ops-digest] Handoff: 📋 Daily digest for 2026-12-07",
        "[DM to @rita] Handoff: ✅ @ana finished T-1",
        "✅ tour complete",
    ):
        assert line in out, line
    # Mia set the digest up after 09:00 her time: no digest for that same day.
    assert "Daily digest for 2026-12-02" not in out


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
