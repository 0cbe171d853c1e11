"""The chair's decision on a referral: waiting → decided, its effects on the plan, the quorum
and the chair's conflicts, and two chairs deciding at once."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from allocations.models import AgreedBudget, SupportPlan
from allocations.services.plans import plan_submit
from assessments.roles import Role
from panels.models import (
    PanelDecision,
    PanelReferral,
)
from panels.services import (
    CHAIR_CONFLICTED,
    WITHDRAWN,
    AlreadyDecided,
    conflict_declare,
    meeting_create,
    referral_schedule,
    referral_withdraw,
)
from tests.factories import make_plan, make_user
from tests.panels.helpers import decide, held_meeting

pytestmark = pytest.mark.django_db
REVIEW = datetime.date(2027, 3, 1)


def test_approved_with_conditions_agrees_the_budget(referral, panel_chair, person_a):
    with pytest.raises(ValidationError) as caught:
        decide(referral, panel_chair, "approved_with_conditions")
    assert set(caught.value.message_dict) == {"conditions", "review_date"}
    decision = decide(
        referral,
        panel_chair,
        "approved_with_conditions",
        conditions="Falls sensor first",
        review_date=REVIEW,
    )
    assert decision.present == ["panel.chair", "panel.member", "panel.member2"]
    agreed = AgreedBudget.objects.get(person=person_a)
    assert (agreed.weekly_gbp, agreed.conditions, agreed.review_date) == (
        Decimal("140.00"),
        "Falls sensor first",
        REVIEW,
    )
    assert agreed.agreed_how == "risk enablement panel"
    referral.refresh_from_db()
    assert referral.status == PanelReferral.Status.DECIDED
    assert decision.history.get().history_user == panel_chair


def test_reasons_are_always_required(referral, panel_chair):
    for outcome in ("approved", "declined"):
        with pytest.raises(ValidationError) as caught:
            decide(referral, panel_chair, outcome, reasons="  ")
        assert "reasons" in caught.value.message_dict
    assert not PanelDecision.objects.exists()


def test_deferred_goes_back_to_the_worker_and_keeps_its_history(
    referral, panel_chair, worker_a, meeting
):
    with pytest.raises(ValidationError):
        decide(referral, panel_chair, "deferred")
    decide(referral, panel_chair, "deferred", information_needed="An OT report")
    plan = referral.plan
    plan.refresh_from_db()
    assert plan.status == SupportPlan.Status.RETURNED
    assert "An OT report" in plan.returned_comments
    resubmitted = plan_submit(actor=worker_a, plan=plan)
    assert resubmitted.status == SupportPlan.Status.AT_PANEL
    assert plan.referrals.count() == 2  # the deferred referral stays on record


def test_declined_returns_the_plan(referral, panel_chair):
    decide(referral, panel_chair, "declined", reasons="Cheaper options not explored")
    referral.plan.refresh_from_db()
    assert referral.plan.status == SupportPlan.Status.RETURNED
    assert not AgreedBudget.objects.exists()


def test_only_the_meetings_chair_decides(referral, panel_member):
    with pytest.raises(PermissionDenied):
        decide(referral, panel_member)


def test_a_chair_who_assessed_the_person_cannot_decide(
    referral, worker_a, panel_member, panel_member2, settings
):
    # The social worker who assessed the person also chairs panels (a submitted assessment's
    # assessor cannot be rewritten, so the chair is made the assessor, not the other way).
    from django.contrib.auth.models import Group

    from assessments.models import User

    worker_a.groups.add(Group.objects.get(name=Role.PANEL_CHAIR.label))
    chair = User.objects.get(pk=worker_a.pk)
    meeting = meeting_create(
        actor=chair, date=REVIEW, chair=chair, members=[panel_member, panel_member2]
    )
    referral = referral_schedule(actor=chair, referral=referral, meeting=meeting)
    settings.PANEL_QUORUM = 2
    with pytest.raises(PermissionDenied, match=CHAIR_CONFLICTED):
        decide(referral, chair)


def test_quorum_is_configurable(referral, panel_chair, panel_member2, settings):
    conflict_declare(actor=panel_member2, referral=referral, reason="x")
    settings.PANEL_QUORUM = 2
    assert decide(referral, panel_chair).outcome == "approved"


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_keep_exactly_one(
    submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    meeting = held_meeting(panel_chair, [panel_member, panel_member2])
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="140.00", difference_reason="More"),
    )
    referral = referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)
    barrier = threading.Barrier(2)
    outcomes, refusals = [], []

    def attempt(outcome):
        try:
            barrier.wait()
            outcomes.append(decide(referral, panel_chair, outcome, information_needed="x"))
        except AlreadyDecided as refusal:
            refusals.append(refusal)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(o,)) for o in ("approved", "deferred")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 1 and len(refusals) == 1
    assert PanelDecision.objects.count() == 1
    assert "already decided by Panel.Chair" in str(refusals[0])
    assert outcomes[0].get_outcome_display() in str(refusals[0])


# --- the decide page -------------------------------------------------------------------------


def test_the_decide_page_permission_matrix(client, referral, worker_a, panel_member, panel_chair):
    url = reverse("panels:referral_decide", args=[referral.pk])
    data = {"outcome": "approved", "reasons": "Safe at home."}
    response = client.post(url, data)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(make_user("other.chair", Role.PANEL_CHAIR))
    assert client.post(url, data).status_code == 404  # not on a meeting of theirs
    client.force_login(worker_a)
    assert client.post(url, data).status_code == 403  # outside the panel
    client.force_login(panel_member)
    assert client.post(url, data).status_code == 403  # sees it, does not decide
    assert not PanelDecision.objects.exists()
    client.force_login(panel_chair)
    assert client.get(url).status_code == 405
    response = client.post(url, data)
    assert response.url == reverse("panels:referral_detail", args=[referral.pk])
    assert PanelDecision.objects.get().outcome == "approved"


def test_the_decide_page_says_why_a_move_is_illegal(client, referral, panel_chair, worker_a):
    client.force_login(panel_chair)
    url = reverse("panels:referral_decide", args=[referral.pk])
    referral_withdraw(plan=referral.plan, reason="The budget changed", actor=worker_a)
    page = client.post(url, {"outcome": "approved", "reasons": "x"}, follow=True).text
    assert WITHDRAWN.format(reason="The budget changed") in page
    assert not PanelDecision.objects.exists()
