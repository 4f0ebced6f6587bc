"""The ticket status machine and priority matrix, as plain values."""

import pytest

from portal.tickets.models import Status
from portal.tickets.workflow import (
    IMPACTS,
    TRANSITIONS,
    URGENCIES,
    Party,
    TransitionRefused,
    allowed_targets,
    check,
    priority_for,
)

# The service process, written out once more by hand: (from, to) -> who may take it.
EXPECTED = {
    ("new", "assigned"): {"staff", "system"},
    ("new", "in_progress"): {"staff"},
    ("new", "waiting"): {"staff"},
    ("new", "resolved"): {"staff"},
    ("assigned", "new"): {"staff", "system"},
    ("assigned", "in_progress"): {"staff"},
    ("assigned", "waiting"): {"staff"},
    ("assigned", "resolved"): {"staff"},
    ("in_progress", "waiting"): {"staff"},
    ("in_progress", "resolved"): {"staff"},
    ("waiting", "in_progress"): {"staff", "requester"},
    ("waiting", "resolved"): {"staff"},
    ("resolved", "closed"): {"requester", "system"},
    ("resolved", "in_progress"): {"requester", "staff"},
}
EVERYTHING = {"has_assignee": True, "has_question": True, "has_resolution": True}


@pytest.mark.parametrize("source", list(Status))
@pytest.mark.parametrize("target", list(Status))
@pytest.mark.parametrize("party", list(Party))
def test_every_pair_of_states_is_allowed_or_refused_as_the_process_says(source, target, party):
    allowed = party.value in EXPECTED.get((source.value, target.value), set())
    if allowed:
        assert check(source, target, frozenset({party}), **EVERYTHING).target is target
    else:
        with pytest.raises(TransitionRefused) as refused:
            check(source, target, frozenset({party}), **EVERYTHING)
        assert str(refused.value.message)


def test_the_table_is_the_process_and_nothing_more():
    table = {(t.source.value, t.target.value): {p.value for p in t.parties} for t in TRANSITIONS}
    assert table == EXPECTED


def test_each_step_refuses_without_what_it_requires():
    staff = frozenset({Party.STAFF})
    with pytest.raises(TransitionRefused, match="diagnosis and a solution"):
        check(Status.IN_PROGRESS, Status.RESOLVED, staff, has_resolution=False)
    with pytest.raises(TransitionRefused, match="what you need"):
        check(Status.IN_PROGRESS, Status.WAITING, staff, has_question=False)
    with pytest.raises(TransitionRefused, match="Assign the ticket"):
        check(Status.NEW, Status.ASSIGNED, staff, has_assignee=False)


def test_a_refusal_names_who_may_take_the_step():
    with pytest.raises(TransitionRefused, match="Only the requester, the service desk itself"):
        check(Status.RESOLVED, Status.CLOSED, frozenset({Party.STAFF}))
    with pytest.raises(TransitionRefused, match="closed ticket cannot change"):
        check(Status.CLOSED, Status.IN_PROGRESS, frozenset({Party.STAFF}))


def test_staff_see_only_the_steps_staff_may_take():
    assert allowed_targets(Status.RESOLVED) == [Status.IN_PROGRESS]
    assert allowed_targets(Status.RESOLVED, Party.REQUESTER) == [Status.IN_PROGRESS, Status.CLOSED]
    assert allowed_targets(Status.CLOSED) == []


def test_an_organisation_wide_critical_outage_is_p1_and_one_users_low_question_p4():
    assert priority_for("organisation", "critical") == "P1"
    assert priority_for("me", "low") == "P4"


def test_priority_never_drops_when_impact_or_urgency_rises():
    for i, impact in enumerate(IMPACTS):
        for j, urgency in enumerate(URGENCIES):
            level = int(priority_for(impact, urgency)[1])
            if i + 1 < len(IMPACTS):
                assert int(priority_for(IMPACTS[i + 1], urgency)[1]) <= level
            if j + 1 < len(URGENCIES):
                assert int(priority_for(impact, URGENCIES[j + 1])[1]) <= level


def test_an_unknown_impact_is_refused():
    with pytest.raises(ValueError, match="unknown impact"):
        priority_for("galaxy", "low")
