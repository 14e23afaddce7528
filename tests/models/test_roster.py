"""Reading what `/tasks team …` says about a person: every part optional, each mistake named."""

from __future__ import annotations

import pytest

from models.errors import BadInput
from models.roster import MemberTerms, parse_member_terms, parse_skill_changes


@pytest.mark.parametrize(
    ("words", "terms"),
    [
        ([], MemberTerms()),
        (["assistant"], MemberTerms(role="assistant")),
        (["Manager"], MemberTerms(role="manager")),
        (["skills:Payroll,bookkeeping,payroll"], MemberTerms(skills=("bookkeeping", "payroll"))),
        (["skills:"], MemberTerms(skills=())),
        (["office:BACK"], MemberTerms(office="back")),
        (["office:none"], MemberTerms(clear_office=True)),
        (["capacity:8"], MemberTerms(capacity=8)),
        (["capacity:none"], MemberTerms(clear_capacity=True)),
        (["capacity:8", "assistant", "office:front", "skills:inbox"],
         MemberTerms(role="assistant", skills=("inbox",), office="front", capacity=8)),
    ],
)
def test_member_terms(words: list[str], terms: MemberTerms) -> None:
    assert parse_member_terms(words) == terms


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["boss"], "can't read `boss`"),
        (["office:middle"], "not an office"),
        (["capacity:0"], "not a capacity"),
        (["capacity:eight"], "not a capacity"),
        (["capacity:501"], "not a capacity"),
        (["skills:pay roll,x!"], "not a skill name"),
        (["colour:blue"], "don't know `colour:`"),
        ([f"skills:{','.join(f's{n}' for n in range(21))}"], "at most 20"),
    ],
)
def test_member_terms_refused(words: list[str], says: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_member_terms(words)
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("words", "add", "drop"),
    [
        (["+inbox", "-payroll"], {"inbox"}, {"payroll"}),
        (["inbox,+calls"], {"inbox", "calls"}, set()),
        (["+inbox", "-inbox"], set(), {"inbox"}),
    ],
)
def test_skill_changes(words: list[str], add: set[str], drop: set[str]) -> None:
    assert parse_skill_changes(words) == (add, drop)


def test_skill_changes_need_a_skill() -> None:
    with pytest.raises(BadInput):
        parse_skill_changes([])
