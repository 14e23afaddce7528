"""`python -m bot sandbox --script demo`: the scripted tour runs the real bot end to end."""

from __future__ import annotations

import subprocess
import sys
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
        "[only you] Handoff: ✅ Created T-1 in the pool",
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
