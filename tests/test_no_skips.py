"""HANDOFF_NO_SKIPS=1 (set in CI) turns every skip into a failure, so no test passes by not running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no database here")

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_known_bug():
    assert False
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:randomly", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
        cwd=ROOT, env={**os.environ, "HANDOFF_NO_SKIPS": "", **env}, capture_output=True, text=True, timeout=120,
    )


def test_a_skip_fails_the_run_when_no_skips_are_allowed(tmp_path: Path) -> None:
    result = _run(tmp_path, HANDOFF_NO_SKIPS="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed, 1 xfailed" in result.stdout, result.stdout
    assert "HANDOFF_NO_SKIPS=1 requires every test to run: Skipped: no database here" in result.stdout


def test_elsewhere_a_skip_is_only_a_skip(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 skipped, 1 xfailed" in result.stdout, result.stdout
