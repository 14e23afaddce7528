"""The transition table, every (action, state) pair."""

from __future__ import annotations

import pytest

from models.enums import TaskStatus as S
from models.errors import Conflict, InvalidTransition
from models.lifecycle import TRANSITIONS, Action, check_claim, check_transition, next_status

ALLOWED = {
    (Action.CLAIM, S.OPEN): S.ASSIGNED,
    (Action.RELEASE, S.ASSIGNED): S.OPEN,
    (Action.START, S.ASSIGNED): S.IN_PROGRESS,
    (Action.BLOCK, S.ASSIGNED): S.BLOCKED,
    (Action.BLOCK, S.IN_PROGRESS): S.BLOCKED,
    (Action.UNBLOCK, S.BLOCKED): S.IN_PROGRESS,  # blocked_from=in_progress below
    (Action.DONE, S.ASSIGNED): S.DONE,
    (Action.DONE, S.IN_PROGRESS): S.DONE,
    (Action.DONE, S.BLOCKED): S.DONE,
    (Action.REOPEN, S.DONE): S.ASSIGNED,
    (Action.REOPEN, S.CANCELLED): S.ASSIGNED,
    (Action.CANCEL, S.OPEN): S.CANCELLED,
    (Action.CANCEL, S.ASSIGNED): S.CANCELLED,
    (Action.CANCEL, S.IN_PROGRESS): S.CANCELLED,
    (Action.CANCEL, S.BLOCKED): S.CANCELLED,
    (Action.REASSIGN, S.OPEN): S.ASSIGNED,
    (Action.REASSIGN, S.ASSIGNED): S.ASSIGNED,
    (Action.REASSIGN, S.IN_PROGRESS): S.ASSIGNED,
    (Action.REASSIGN, S.BLOCKED): S.ASSIGNED,
    (Action.CHANGE_DUE, S.OPEN): S.OPEN,
    (Action.CHANGE_DUE, S.ASSIGNED): S.ASSIGNED,
    (Action.CHANGE_DUE, S.IN_PROGRESS): S.IN_PROGRESS,
    (Action.CHANGE_DUE, S.BLOCKED): S.BLOCKED,
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(S))
def test_every_pair_is_allowed_or_refused(action: Action, status: S) -> None:
    expected = ALLOWED.get((action, status))
    if expected is None:
        with pytest.raises(InvalidTransition) as caught:
            next_status(action, status, has_assignee=True, blocked_from=S.IN_PROGRESS)
        assert caught.value.message and caught.value.hint
    else:
        assert next_status(action, status, has_assignee=True, blocked_from=S.IN_PROGRESS) is expected


def test_done_can_never_be_cancelled() -> None:
    with pytest.raises(InvalidTransition, match="T-7 is already done"):
        check_transition(Action.CANCEL, S.DONE, "T-7")


@pytest.mark.parametrize(
    ("blocked_from", "expected"), [(S.ASSIGNED, S.ASSIGNED), (S.IN_PROGRESS, S.IN_PROGRESS), (None, S.ASSIGNED)]
)
def test_unblock_returns_to_where_it_was(blocked_from: S | None, expected: S) -> None:
    assert next_status(Action.UNBLOCK, S.BLOCKED, has_assignee=True, blocked_from=blocked_from) is expected


def test_reopen_without_assignee_goes_back_to_the_pool() -> None:
    assert next_status(Action.REOPEN, S.CANCELLED, has_assignee=False, blocked_from=None) is S.OPEN


def test_table_covers_every_action() -> None:
    assert set(TRANSITIONS) == set(Action)


# (state, assignee, claimer, whether they may reopen) -> True (takes it), False (already theirs: no change)
# or the error.
_ANYONE = False
_ASSIGNEE = True
CLAIMS: list[tuple[S, str | None, str, bool, object]] = [
    (S.OPEN, None, "UBEN", _ANYONE, True),
    *[(s, "UANA", "UANA", _ASSIGNEE, False) for s in (S.ASSIGNED, S.IN_PROGRESS, S.BLOCKED)],
    *[(s, "UANA", "UBEN", _ANYONE, "already belongs to <@UANA>") for s in (S.ASSIGNED, S.IN_PROGRESS, S.BLOCKED)],
    *[(s, "UANA", "UANA", _ASSIGNEE, "reopen it: `/tasks reopen T-7`") for s in (S.DONE, S.CANCELLED)],
    *[(s, "UANA", "UBEN", _ANYONE, "ask its requester (<@URITA>)") for s in (S.DONE, S.CANCELLED)],
    (S.CANCELLED, None, "UBEN", _ANYONE, "nothing to claim"),
]


@pytest.mark.parametrize(("status", "assignee", "claimer", "may_reopen", "outcome"), CLAIMS)
def test_check_claim_gives_the_right_answer_in_every_state(
    status: S, assignee: str | None, claimer: str, may_reopen: bool, outcome: object
) -> None:
    def claim() -> bool:
        return check_claim(
            status, "T-7", assignee_id=assignee, requester_id="URITA", actor_id=claimer, may_reopen=may_reopen
        )

    if isinstance(outcome, bool):
        assert claim() is outcome
    else:
        with pytest.raises((InvalidTransition, Conflict)) as refused:
            claim()
        assert str(outcome) in f"{refused.value.message} {refused.value.hint}"
