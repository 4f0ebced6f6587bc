"""The ticket status machine and priority matrix, as plain values."""

import pytest

from articles.errors import InvalidTransition
from portal.tickets.models import Status
from portal.tickets.workflow import IMPACTS, URGENCIES, allowed_targets, next_status, priority_for


def test_a_new_ticket_can_be_assigned_or_solved_on_the_spot():
    assert next_status(Status.NEW, Status.ASSIGNED) is Status.ASSIGNED
    assert next_status(Status.NEW, Status.RESOLVED) is Status.RESOLVED


def test_a_closed_ticket_cannot_move():
    assert allowed_targets(Status.CLOSED) == []
    with pytest.raises(InvalidTransition):
        next_status(Status.CLOSED, Status.IN_PROGRESS)


def test_a_resolved_ticket_is_closed_by_confirmation_or_reopened():
    assert set(allowed_targets(Status.RESOLVED)) == {Status.CLOSED, Status.IN_PROGRESS}


def test_waiting_on_the_user_goes_back_into_progress():
    assert next_status(Status.WAITING, Status.IN_PROGRESS) is Status.IN_PROGRESS


def test_a_new_ticket_cannot_be_closed_without_resolution():
    with pytest.raises(InvalidTransition):
        next_status(Status.NEW, Status.CLOSED)


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
