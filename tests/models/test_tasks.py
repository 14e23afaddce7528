"""Domain operations against real databases: events, outbox rows, permissions and races."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from models import tasks
from models.db import Database
from models.enums import TaskStatus, WorkspaceRole
from models.errors import BadDueDate, BadInput, Conflict, InvalidTransition, NotAllowed, TaskNotFound
from models.people import Actor
from models.tables import Outbox, Task, TaskEvent
from tests.conftest import FakeClock
from tests.factories import TEAM, make_task, new_task

REPO = Path(__file__).resolve().parents[2]
ANA, RITA, BEN, MIA = Actor("UANA"), Actor("URITA"), Actor("UBEN"), Actor("UMIA", WorkspaceRole.MANAGER)


def _events(db: Database, task: Task) -> list[tuple[str, str]]:
    with db.transaction() as s:
        rows = s.exec(select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(col(TaskEvent.id))).all()
        return [(e.kind, e.actor_id) for e in rows]


def _outbox(db: Database) -> list[str]:
    with db.transaction() as s:
        return [o.key for o in s.exec(select(Outbox).order_by(col(Outbox.id)))]


def test_create_numbers_per_workspace_and_queues_card_confirm_and_dm(db: Database, clock: FakeClock) -> None:
    first = make_task(db, clock())
    second = make_task(db, clock(), assignee_id=None)
    other = make_task(db, clock(), team_id="T0002", assignee_id=None)
    assert (first.ref, second.ref, other.ref) == ("T-1", "T-2", "T-1")
    assert first.status is TaskStatus.ASSIGNED and second.status is TaskStatus.OPEN
    keys = _outbox(db)
    assert keys[:2] == [f"card.post:{first.id}", keys[1]]
    assert keys[1].startswith("dm:") and keys[1].endswith(":UANA")
    # the requester's confirmation is the command's answer, not a queued message
    assert not [k for k in keys if k.startswith("confirm:")]
    # an unassigned task notifies nobody directly
    assert not [k for k in keys if k.startswith("dm:") and k != keys[1]]


def test_create_refuses_past_due_empty_and_long_titles(db: Database, clock: FakeClock) -> None:
    with pytest.raises(BadDueDate):
        make_task(db, clock(), due_at=clock() - timedelta(minutes=1))
    with pytest.raises(BadInput):
        make_task(db, clock(), title="   ")
    with pytest.raises(BadInput, match="251 characters"):
        make_task(db, clock(), title="x" * 251)
    assert _outbox(db) == []  # nothing half-written


def test_full_lifecycle_records_every_step(db: Database, clock: FakeClock) -> None:
    task = make_task(db, clock(), assignee_id=None)
    n = task.number
    with db.transaction() as s:
        tasks.claim_task(session=s, team_id=TEAM, number=n, actor=ANA, now=clock())
    with db.transaction() as s:
        tasks.start_task(session=s, team_id=TEAM, number=n, actor=ANA, now=clock())
    with db.transaction() as s:
        tasks.block_task(session=s, team_id=TEAM, number=n, actor=ANA, reason="waiting for bank", now=clock())
    with db.transaction() as s:
        blocked = tasks.find_task(s, team_id=TEAM, number=n)
        assert blocked.status is TaskStatus.BLOCKED and blocked.blocked_reason == "waiting for bank"
    with db.transaction() as s:
        tasks.unblock_task(session=s, team_id=TEAM, number=n, actor=RITA, now=clock())
    with db.transaction() as s:
        done = tasks.complete_task(session=s, team_id=TEAM, number=n, actor=ANA, now=clock(), note="sent")
        assert done.status is TaskStatus.DONE and done.completed_at == clock()
    with db.transaction() as s:
        tasks.reopen_task(session=s, team_id=TEAM, number=n, actor=RITA, now=clock())
    assert _events(db, task) == [
        ("created", "URITA"), ("claimed", "UANA"), ("started", "UANA"), ("blocked", "UANA"),
        ("unblocked", "URITA"), ("done", "UANA"), ("reopened", "URITA"),
    ]
    with db.transaction() as s:
        final = tasks.find_task(s, team_id=TEAM, number=n)
        assert final.status is TaskStatus.ASSIGNED and final.version == 7
    keys = _outbox(db)
    # the requester hears of the claim, the block and the done; each change refreshes the card
    assert sum(k.startswith("card.update:") for k in keys) == 6
    assert sum(k.startswith("thread:") for k in keys) == 6
    dms = [k.rsplit(":", 1)[1] for k in keys if k.startswith("dm:")]
    assert dms == ["URITA", "URITA", "UANA", "URITA", "UANA"]


@pytest.mark.parametrize(
    ("actor", "allowed"), [(ANA, True), (RITA, True), (MIA, True), (BEN, False)]
)
def test_who_may_move_a_task(db: Database, clock: FakeClock, actor: Actor, allowed: bool) -> None:
    task = make_task(db, clock())
    with db.transaction() as s:
        if allowed:
            assert tasks.start_task(session=s, team_id=TEAM, number=task.number, actor=actor, now=clock())
        else:
            with pytest.raises(NotAllowed, match="You can't start T-1") as caught:
                tasks.start_task(session=s, team_id=TEAM, number=task.number, actor=actor, now=clock())
            assert caught.value.hint == (
                "Only its assignee (<@UANA>), its requester (<@URITA>) or a manager or an admin can do that."
            )


@pytest.mark.parametrize(("actor", "allowed"), [(ANA, False), (RITA, True), (MIA, True), (BEN, False)])
def test_only_requester_or_manager_cancel_and_reassign(
    db: Database, clock: FakeClock, actor: Actor, allowed: bool
) -> None:
    task = make_task(db, clock())
    for op in (
        lambda s: tasks.reassign_task(session=s, team_id=TEAM, number=task.number, actor=actor,
                                      assignee_id="UBEN", now=clock()),
        lambda s: tasks.cancel_task(session=s, team_id=TEAM, number=task.number, actor=actor, now=clock()),
    ):
        with db.transaction() as s:
            if allowed:
                op(s)
            else:
                with pytest.raises(NotAllowed):
                    op(s)


def test_release_only_by_claimer_before_start(db: Database, clock: FakeClock) -> None:
    task = make_task(db, clock(), assignee_id=None)
    with db.transaction() as s:
        tasks.claim_task(session=s, team_id=TEAM, number=task.number, actor=ANA, now=clock())
    with db.transaction() as s, pytest.raises(NotAllowed):
        tasks.release_task(session=s, team_id=TEAM, number=task.number, actor=RITA, now=clock())
    with db.transaction() as s:
        released = tasks.release_task(session=s, team_id=TEAM, number=task.number, actor=ANA, now=clock())
        assert released.status is TaskStatus.OPEN and released.assignee_id is None


def test_change_due_rejects_the_past_and_records_both_ends(db: Database, clock: FakeClock) -> None:
    task = make_task(db, clock())
    with db.transaction() as s, pytest.raises(BadDueDate):
        tasks.change_due(session=s, team_id=TEAM, number=task.number, actor=RITA, due_at=clock(), now=clock())
    later = clock() + timedelta(days=2)
    with db.transaction() as s:
        moved = tasks.change_due(session=s, team_id=TEAM, number=task.number, actor=RITA, due_at=later, now=clock())
        assert moved.due_at == later
    with db.transaction() as s:
        event = s.exec(select(TaskEvent).where(TaskEvent.kind == "due_changed")).one()
        assert event.detail == {"from": None, "to": later.isoformat()}


def test_unknown_task_and_invalid_step(db: Database, clock: FakeClock) -> None:
    with db.transaction() as s, pytest.raises(TaskNotFound, match="T-99"):
        tasks.start_task(session=s, team_id=TEAM, number=99, actor=ANA, now=clock())
    task = make_task(db, clock(), assignee_id=None)
    with db.transaction() as s, pytest.raises(InvalidTransition, match="pool"):
        tasks.start_task(session=s, team_id=TEAM, number=task.number, actor=MIA, now=clock())


def test_a_repeated_claim_by_the_winner_changes_nothing(db: Database, clock: FakeClock) -> None:
    task = make_task(db, clock(), assignee_id=None)
    for _ in range(2):
        with db.transaction() as s:
            tasks.claim_task(session=s, team_id=TEAM, number=task.number, actor=ANA, now=clock())
    assert [k for k, _ in _events(db, task)] == ["created", "claimed"]
    with db.transaction() as s, pytest.raises(Conflict, match="already belongs to <@UANA>"):
        tasks.claim_task(session=s, team_id=TEAM, number=task.number, actor=BEN, now=clock())


def test_concurrent_claims_have_exactly_one_winner(db: Database, clock: FakeClock) -> None:
    task = make_task(db, clock(), assignee_id=None)
    claimers = [Actor(f"UCLAIM{i}") for i in range(8)]
    results: dict[str, str] = {}
    barrier = threading.Barrier(len(claimers))

    def claim(actor: Actor) -> None:
        barrier.wait()
        try:
            with db.transaction() as s:
                tasks.claim_task(session=s, team_id=TEAM, number=task.number, actor=actor, now=clock())
            results[actor.user_id] = "won"
        except Conflict:
            results[actor.user_id] = "lost"

    threads = [threading.Thread(target=claim, args=(a,)) for a in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [u for u, r in results.items() if r == "won"]
    assert len(winners) == 1 and len(results) == len(claimers)
    with db.transaction() as s:
        assert tasks.find_task(s, team_id=TEAM, number=task.number).assignee_id == winners[0]
    assert [k for k, _ in _events(db, task)].count("claimed") == 1


def test_concurrent_creates_never_share_a_number(db: Database, clock: FakeClock) -> None:
    numbers: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        with db.transaction() as s:
            task = tasks.create_task(session=s, request=new_task(), now=clock())
        with lock:
            numbers.append(task.number)

    threads = [threading.Thread(target=create) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(1, 11))


# Another process creates a task and keeps its transaction open until its stdin has a line, then rolls back.
_FIRST_CREATE = """
import sys
from datetime import datetime
from models import tasks
from models.db import Database
from tests.factories import new_task
db = Database.from_url(sys.argv[1])
try:
    with db.transaction() as session:
        tasks.create_task(session=session, request=new_task(title="first"), now=datetime.fromisoformat(sys.argv[2]))
        print("created", flush=True)
        sys.stdin.readline()
        raise RuntimeError("rolled back")
except RuntimeError:
    pass
"""


def test_a_create_under_way_holds_up_other_creates_only_on_sqlite(db: Database, clock: FakeClock) -> None:
    """On PostgreSQL the number is reserved apart: the workspace row is locked for that statement, not
    until the create commits (held that long, every create in a workspace queued behind the one before:
    the ack path's throughput was 0.6 of a bare app's). SQLite has one writer at a time, so there the
    second create waits, as every write does, and a rolled-back reservation goes with its create."""
    postgres = db.dialect == "postgresql"
    url = db.engine.url.render_as_string(hide_password=False)
    first = subprocess.Popen([sys.executable, "-c", _FIRST_CREATE, url, clock().isoformat()], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert first.stdin is not None and first.stdout is not None
    done: list[int] = []
    second = threading.Thread(target=lambda: done.append(make_task(db, clock(), title="second").number))
    try:
        assert first.stdout.readline().strip() == "created"
        second.start()
        second.join(5 if postgres else 0.5)
        assert done == ([2] if postgres else [])
    finally:
        first.stdin.close()
        assert first.wait(timeout=20) == 0
        if second.ident is not None:
            second.join(10)
    # PostgreSQL: the rolled-back create's number stays unused. SQLite: it is given again.
    assert done == ([2] if postgres else [1])
    assert make_task(db, clock()).number == (3 if postgres else 2)


@pytest.mark.parametrize(
    ("token", "number", "missing"),
    [
        ("T-42", 42, None), ("#7", 7, None), ("t-0042", 42, None), ("Send", None, None), ("³", None, None),
        ("T-0", None, "T-0"), ("0", None, "T-0"), ("T-2147483648", None, "T-2147483648"),
        ("9" * 5000, None, "T-" + "9" * 20 + "…"),
    ],
)
def test_task_number_reads_a_reference_and_refuses_one_no_task_can_have(
    token: str, number: int | None, missing: str | None
) -> None:
    if missing is None:
        assert tasks.task_number(token) == number
    else:
        with pytest.raises(TaskNotFound) as refused:
            tasks.task_number(token)
        assert refused.value.message == f"There is no task {missing} in this workspace."
