"""A panel that can always decide: attendance (present, apologies, substitute), the chair
adding a substitute, moving a referral, a member withdrawing their conflict, and the decision
page saying plainly why a decision cannot be recorded yet.

The cast: a meeting under way today, chaired by panel.chair with panel.member and
panel.member2 (3 sitting); the quorum is 3 (PANEL_QUORUM's default). So one conflict or one
apology leaves 2 of 3 needed: not quorate; a substitute makes it 3 again.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from assessments.roles import Role
from panels.models import ConflictDeclaration, PanelAttendance, PanelDecision
from panels.services import (
    CONFLICT_ALREADY_WITHDRAWN,
    MOVE_TARGET_PAST,
    ONLY_OWN_CONFLICT,
    QUORUM_HELP,
    SUBSTITUTE_NOT_PANEL,
    attendance_record,
    conflict_declare,
    conflict_withdraw,
    decision_blockers,
    meeting_cancel,
    meeting_substitute_add,
    quorum_of,
    referral_move,
)
from tests.factories import date_parts, make_user
from tests.panels.helpers import at, decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def substitute(db):
    return make_user("sam.sub", Role.PANEL_MEMBER, last_name="Okafor")


def _present(referral):
    return [u.username for u in quorum_of(referral).present]


# --- attendance ------------------------------------------------------------------------------


def test_members_are_present_until_the_chair_records_apologies(
    referral, meeting, panel_chair, panel_member, panel_member2
):
    assert {a.member: a.status for a in meeting.attendance.all()} == {
        panel_member: "present",
        panel_member2: "present",
    }
    assert _present(referral) == ["panel.chair", "panel.member", "panel.member2"]
    attendance_record(
        actor=panel_chair, meeting=meeting, member=panel_member, status="apologies", reason="Ill"
    )
    quorum = quorum_of(referral)
    # 3 sitting - 1 apology = 2 counted, 3 needed.
    assert (_present(referral), quorum.quorate) == (["panel.chair", "panel.member2"], False)
    assert quorum.apologies == [panel_member]
    with pytest.raises(ValidationError, match="not quorate"):
        decide(referral, panel_chair)
    row = PanelAttendance.objects.get(meeting=meeting, member=panel_member)
    last = row.history.first()
    assert (last.history_user, last.history_change_reason) == (panel_chair, "apologies: Ill")
    # Back again: counted again.
    attendance_record(actor=panel_chair, meeting=meeting, member=panel_member, status="present")
    assert quorum_of(referral).quorate


def test_only_the_meetings_chair_records_attendance(meeting, panel_member, panel_member2):
    other_chair = make_user("other.chair", Role.PANEL_CHAIR)
    for actor in (panel_member2, other_chair):
        with pytest.raises(PermissionDenied, match="Only the meeting's chair"):
            attendance_record(actor=actor, meeting=meeting, member=panel_member, status="apologies")
    assert not PanelAttendance.objects.filter(status="apologies").exists()


# --- substitutes -----------------------------------------------------------------------------


def test_a_substitute_restores_the_quorum_a_conflict_took_away(
    referral, meeting, panel_chair, panel_member2, substitute
):
    conflict_declare(actor=panel_member2, referral=referral, reason="Knows the family")
    # chair + member = 2 without a conflict, 3 needed.
    assert _present(referral) == ["panel.chair", "panel.member"]
    with pytest.raises(ValidationError, match="not quorate"):
        decide(referral, panel_chair)
    meeting_substitute_add(
        actor=panel_chair,
        meeting=meeting,
        member=substitute,
        reason="Panel.Member2 has a conflict in one referral",
    )
    # chair + member + substitute = 3: quorate.
    assert _present(referral) == ["panel.chair", "panel.member", "sam.sub"]
    decision = decide(referral, panel_chair)
    assert decision.present == ["panel.chair", "panel.member", "sam.sub"]
    row = PanelAttendance.objects.get(meeting=meeting, member=substitute)
    assert (row.status, row.reason, row.recorded_by) == (
        "substitute",
        "Panel.Member2 has a conflict in one referral",
        panel_chair,
    )
    assert row.history.get().history_user == panel_chair
    # The meeting's own history says who was added and why.
    assert meeting.history.first().history_change_reason.startswith("substitute Sam.Sub Okafor")


def test_a_substitute_is_a_panel_member_with_a_reason_added_by_the_chair(
    meeting, panel_chair, panel_member, worker_a, substitute
):
    with pytest.raises(PermissionDenied, match="Only the meeting's chair"):
        meeting_substitute_add(actor=panel_member, meeting=meeting, member=substitute, reason="x")
    with pytest.raises(ValidationError, match=SUBSTITUTE_NOT_PANEL):
        meeting_substitute_add(actor=panel_chair, meeting=meeting, member=worker_a, reason="x")
    with pytest.raises(ValidationError, match="Give a reason"):
        meeting_substitute_add(actor=panel_chair, meeting=meeting, member=substitute, reason=" ")
    with pytest.raises(ValidationError, match="already sits on this meeting"):
        meeting_substitute_add(actor=panel_chair, meeting=meeting, member=panel_member, reason="x")
    assert not meeting.members.filter(pk=substitute.pk).exists()


def test_the_database_refuses_a_substitute_without_a_reason(meeting, panel_chair, substitute):
    with pytest.raises(IntegrityError), transaction.atomic():
        PanelAttendance.objects.create(
            meeting=meeting, member=substitute, status="substitute", recorded_by=panel_chair
        )


# --- withdrawing a conflict ------------------------------------------------------------------


def test_a_member_withdraws_their_own_conflict_which_stays_on_record(
    referral, panel_chair, panel_member, panel_member2
):
    declaration = conflict_declare(actor=panel_member2, referral=referral, reason="Neighbour")
    assert not quorum_of(referral).quorate
    with pytest.raises(PermissionDenied, match=ONLY_OWN_CONFLICT):
        conflict_withdraw(actor=panel_member, declaration=declaration, reason="x")
    with pytest.raises(PermissionDenied, match=ONLY_OWN_CONFLICT):
        conflict_withdraw(actor=panel_chair, declaration=declaration, reason="x")
    with pytest.raises(ValidationError, match="Give a reason"):
        conflict_withdraw(actor=panel_member2, declaration=declaration, reason="")
    conflict_withdraw(
        actor=panel_member2, declaration=declaration, reason="It was a different family"
    )
    declaration.refresh_from_db()
    assert declaration.is_withdrawn and declaration.reason == "Neighbour"
    assert declaration.withdrawn_reason == "It was a different family"
    last = declaration.history.first()
    assert (last.history_user, last.history_change_reason) == (
        panel_member2,
        "withdrawn: It was a different family",
    )
    assert quorum_of(referral).quorate  # counted again
    with pytest.raises(ValidationError, match=CONFLICT_ALREADY_WITHDRAWN):
        conflict_withdraw(actor=panel_member2, declaration=declaration, reason="again")
    # Declared again later: a new declaration, the withdrawn one kept.
    conflict_declare(actor=panel_member2, referral=referral, reason="It was the family after all")
    assert ConflictDeclaration.objects.filter(referral=referral).count() == 2
    assert not quorum_of(referral).quorate


# --- moving a referral -----------------------------------------------------------------------


def test_the_chair_moves_a_referral_to_a_meeting_to_come(
    referral, meeting, next_meeting, panel_chair, panel_member
):
    with pytest.raises(PermissionDenied):
        referral_move(actor=panel_member, referral=referral, meeting=next_meeting, reason="x")
    with pytest.raises(ValidationError, match="Give a reason"):
        referral_move(actor=panel_chair, referral=referral, meeting=next_meeting, reason="")
    with pytest.raises(ValidationError, match="already on that meeting"):
        referral_move(actor=panel_chair, referral=referral, meeting=meeting, reason="x")
    moved = referral_move(
        actor=panel_chair, referral=referral, meeting=next_meeting, reason="Not quorate today"
    )
    assert (moved.meeting_id, moved.is_waiting) == (next_meeting.pk, True)
    last = moved.history.first()
    assert last.history_user == panel_chair
    assert last.history_change_reason == (
        f"moved to the meeting of {next_meeting.date:%d %b %Y}: Not quorate today"
    )
    # Back to today's meeting, which has begun: refused.
    with pytest.raises(ValidationError, match=MOVE_TARGET_PAST):
        referral_move(actor=panel_chair, referral=moved, meeting=meeting, reason="x")


def test_a_referral_cannot_move_to_a_cancelled_meeting_or_once_decided(
    referral, next_meeting, panel_chair
):
    meeting_cancel(actor=panel_chair, meeting=next_meeting, reason="Room flooded")
    with pytest.raises(ValidationError, match="was cancelled: Room flooded"):
        referral_move(actor=panel_chair, referral=referral, meeting=next_meeting, reason="x")
    decide(referral, panel_chair)
    later = type(next_meeting).objects.create(
        date=next_meeting.date, chair=panel_chair, created_by=panel_chair
    )
    with pytest.raises(ValidationError, match="has been decided"):
        referral_move(actor=panel_chair, referral=referral, meeting=later, reason="x")


# --- what the chair is told ------------------------------------------------------------------


def test_the_blockers_name_who_is_conflicted_and_what_to_do(
    referral, meeting, panel_chair, panel_member, panel_member2
):
    assert decision_blockers(referral) == []
    conflict_declare(actor=panel_member2, referral=referral, reason="Knows the family")
    attendance_record(actor=panel_chair, meeting=meeting, member=panel_member, status="apologies")
    (blocker,) = decision_blockers(referral)
    # chair only: 1 without a conflict, 3 needed.
    assert blocker == (
        "The panel is not quorate for this referral: 1 member(s) without a conflict, 3 needed. "
        "Conflicted: Panel.Member2 (declared: Knows the family). Apologies: Panel.Member. "
        + QUORUM_HELP
    )


def test_the_decision_page_explains_and_offers_no_form_it_would_refuse(
    client, referral, panel_chair, panel_member2
):
    conflict_declare(actor=panel_member2, referral=referral, reason="Knows the family")
    client.force_login(panel_chair)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert "The decision cannot be recorded yet" in page
    assert "2 member(s) without a conflict, 3 needed" in page
    assert "Panel.Member2 (declared: Knows the family)" in page
    assert "add a substitute panel member" in page and "move the referral" in page
    assert "Record the decision" not in page
    assert "Move the referral" not in page  # no other meeting yet: the page says to arrange one
    assert "No other meeting is arranged yet" in page


def test_a_refused_decision_keeps_what_the_chair_typed(
    client, referral, panel_chair, panel_member2
):
    client.force_login(panel_chair)
    url = reverse("panels:referral_detail", args=[referral.pk])
    assert "Record the decision" in client.get(url).text  # quorate when the chair opened it
    conflict_declare(actor=panel_member2, referral=referral, reason="Knows the family")
    response = client.post(
        reverse("panels:referral_decide", args=[referral.pk]),
        {
            "outcome": "approved_with_conditions",
            "reasons": "Safe at home with night support",
            "conditions": "Falls sensor first",
            **date_parts("review_date", "2027-03-01"),
        },
    )
    assert response.status_code == 400
    page = response.text
    assert "not quorate" in page
    assert "Safe at home with night support</textarea>" in page
    assert "Falls sensor first</textarea>" in page
    # The review date's boxes keep what was typed.
    for box, typed in (("day", "1"), ("month", "3"), ("year", "2027")):
        assert f'name="review_date_{box}" value="{typed}"' in page
    assert not PanelDecision.objects.exists()


def test_an_incomplete_decision_keeps_what_the_chair_typed(client, referral, panel_chair):
    client.force_login(panel_chair)
    response = client.post(
        reverse("panels:referral_decide", args=[referral.pk]),
        {"outcome": "approved_with_conditions", "reasons": "Safe at home"},
    )
    assert response.status_code == 400
    assert "State the conditions." in response.text and "Give the review date." in response.text
    assert "Safe at home</textarea>" in response.text


# --- the meeting's time ----------------------------------------------------------------------


def test_no_decision_before_the_meeting_starts(
    submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    from panels.services import meeting_create
    from tests.panels.helpers import refer

    with at("2027-01-04"):
        with pytest.raises(ValidationError, match="cannot be arranged in the past"):
            meeting_create(
                actor=panel_chair,
                date=datetime.date(2027, 1, 4),
                time=datetime.time(9, 30),
                chair=panel_chair,
                members=[panel_member, panel_member2],
            )
        meeting = meeting_create(
            actor=panel_chair,
            date=datetime.date(2027, 1, 4),
            time=datetime.time(14, 0),
            place="Room 1, County Hall",
            chair=panel_chair,
            members=[panel_member, panel_member2],
        )
        referral = refer(person_a, worker_a, meeting, panel_chair)
        with pytest.raises(ValidationError, match="starts at 14:00 on 04 Jan 2027"):
            decide(referral, panel_chair)
    with at("2027-01-04", 14):
        assert decide(referral, panel_chair).outcome == "approved"


# --- cancelling a meeting --------------------------------------------------------------------


def test_cancelling_a_meeting_sends_its_referrals_back_to_wait(
    referral, meeting, panel_chair, panel_member
):
    with pytest.raises(PermissionDenied, match="Only the meeting's chair"):
        meeting_cancel(actor=panel_member, meeting=meeting, reason="x")
    with pytest.raises(ValidationError, match="Give a reason"):
        meeting_cancel(actor=panel_chair, meeting=meeting, reason="")
    meeting_cancel(actor=panel_chair, meeting=meeting, reason="The chair is ill")
    meeting.refresh_from_db()
    referral.refresh_from_db()
    assert (meeting.is_cancelled, meeting.cancelled_by, meeting.cancelled_reason) == (
        True,
        panel_chair,
        "The chair is ill",
    )
    assert (referral.meeting_id, referral.is_waiting) == (None, True)
    assert "was cancelled: awaiting a meeting" in referral.history.first().history_change_reason
    with pytest.raises(ValidationError, match="was cancelled: The chair is ill"):
        meeting_substitute_add(actor=panel_chair, meeting=meeting, member=panel_member, reason="x")


def test_a_meeting_that_decided_cannot_be_cancelled(referral, meeting, panel_chair):
    decide(referral, panel_chair)
    with pytest.raises(ValidationError, match="cannot be cancelled"):
        meeting_cancel(actor=panel_chair, meeting=meeting, reason="x")
    meeting.refresh_from_db()
    assert not meeting.is_cancelled


def test_the_database_refuses_a_cancellation_without_a_reason(meeting, panel_chair):
    from django.utils import timezone

    from panels.models import PanelMeeting

    with pytest.raises(IntegrityError), transaction.atomic():
        PanelMeeting.objects.filter(pk=meeting.pk).update(
            cancelled_at=timezone.now(), cancelled_by=panel_chair
        )
