"""The benchmarks run end to end at a tiny size (their figures are read by people, never asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from bench import home, load, volume
from bench.data import NOW, Spec, Store
from models.db import Database
from models.enums import TaskStatus
from models.tables import Task
from tests.conftest import PG_URL

DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _pg_or_skip(kind: str) -> list[str]:
    if kind == "sqlite":
        return []
    if not PG_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    return ["--no-sqlite", "--database-url", PG_URL]


@pytest.mark.parametrize("kind", DATABASES)
def test_volume_bench_runs_and_prints_the_table(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "volume.json"
    code = volume.main([
        "--digest-tasks", "500", "1000", "--sweep-tasks", "1000", "--active", "100", "--assistants", "10",
        "--no-cache", "--output", str(output), *_pg_or_skip(kind),
    ])

    assert code == 0
    printed = capsys.readouterr().out
    for label in ("digest, 1,000 tasks", "SQL statements", "sweep, 1,000 tasks, 10 owed", "idle sweep",
                  "worst write wait", "µs per notice", "10M-addition loop"):
        assert label in printed
    written = json.loads(output.read_text())
    assert written["loop_seconds"] > 0
    figures = written["figures"]
    # The first CPU row is the sweep's (the idle sweep's follows).
    cpu = next(f["raw"] for f in figures if f["label"] == "  CPU of the job's process")
    assert all(per_db["seconds"] > 0 and per_db["notices"] >= 10 for per_db in cpu.values())
    # Every job ran (a job that fails or queues nothing it owes is reported, and would show here).
    runs = [f["raw"] for f in figures if f["label"].startswith(("digest", "sweep", "idle"))]
    assert runs and all(not raw["error"] for per_db in runs for raw in per_db.values())


@pytest.mark.parametrize("kind", DATABASES)
def test_generated_workspace_reads_back_through_the_models(kind: str, tmp_path: Path) -> None:
    if kind == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    store = Store(tmp_path, admin_url=PG_URL if kind == "postgresql" else None)
    spec = Spec(tasks=1000, active=100, owed=20, assistants=10)
    try:
        prepared = store.prepare(spec)
        db = Database.from_url(prepared.url)
        try:
            with db.read() as session:
                tasks = list(session.exec(select(Task)))
        finally:
            db.dispose()
    finally:
        store.drop_all()

    assert len(tasks) == 1000
    unfinished = [t for t in tasks if t.status not in (TaskStatus.DONE, TaskStatus.CANCELLED)]
    assert len(unfinished) == 120
    assert all(t.completed_at is not None for t in tasks if t.status == TaskStatus.DONE)
    assert sum(1 for t in unfinished if t.due_at is not None and t.due_at <= NOW) > 0
    assert all(t.created_at <= NOW for t in tasks)


@pytest.mark.parametrize("kind", DATABASES)
def test_load_bench_runs_and_prints_the_table(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "load.json"
    code = load.main([
        # The plain burst is the same code as the rate-limited one; one bot fewer keeps the test short.
        "--only", "open", "limited", "--tasks", "1000", "--rate", "20", "--seconds", "1", "--limited-burst", "5",
        "--no-cache", "--output", str(output), *_pg_or_skip(kind),
    ])

    assert code == 0
    printed = capsys.readouterr().out
    for label in ("/delegate p99, 20/s open loop", "last message reached Slack after", "lost / duplicated",
                  "peak memory"):
        assert label in printed
    [result] = json.loads(output.read_text())["results"].values()
    assert result["open"]["sent"] >= 20 and result["open"]["jobs_exit"] == 0
    assert result["limited"]["commands"] == 5


@pytest.mark.parametrize("kind", DATABASES)
def test_home_bench_times_each_read(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert home.main(["--tasks", "400", "--repeat", "2", "--no-cache", *_pg_or_skip(kind)]) == 0
    printed = capsys.readouterr().out
    for read in ("my open tasks", "the team this week", "🎫: tasks made from a message", "thread reply"):
        assert read in printed
