"""The risk enablement panel: conflicts, quorum, decisions, and the concurrent decision."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from allocations.models import AgreedBudget, SupportPlan
from allocations.services.plans import plan_submit
from assessments.roles import Role
from panels.models import PanelDecision, PanelReferral
from panels.services import (
    CHAIR_CONFLICTED,
    AlreadyDecided,
    conflict_declare,
    meeting_create,
    panel_decide,
    quorum_for,
    referral_conflicts,
    referral_schedule,
)
from tests.factories import make_plan, make_user

pytestmark = pytest.mark.django_db
REVIEW = datetime.date(2027, 3, 1)


@pytest.fixture
def meeting(panel_chair, panel_member, panel_member2):
    return meeting_create(
        actor=panel_chair,
        date=timezone.localdate() + datetime.timedelta(days=3),
        chair=panel_chair,
        members=[panel_member, panel_member2],
    )


@pytest.fixture
def referral(submitted_a, person_a, worker_a, meeting, panel_chair):
    """person_a's plan, 10% over the indicative budget and then some: at the panel."""
    plan = make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours")
    plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == SupportPlan.Status.AT_PANEL
    return referral_schedule(actor=panel_chair, referral=plan.referrals.get(), meeting=meeting)


def decide(referral, actor, outcome="approved", **kwargs):
    kwargs.setdefault("reasons", "Meets needs safely.")
    return panel_decide(actor=actor, referral=referral, outcome=outcome, **kwargs)


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


def test_automatic_and_declared_conflicts_and_the_quorum(
    referral, panel_chair, panel_member, panel_member2, team_a
):
    present, quorate = quorum_for(referral)
    assert (len(present), quorate) == (3, True)
    conflict_declare(actor=panel_member2, referral=referral, reason="Knows the family")
    present, quorate = quorum_for(referral)
    assert (len(present), quorate) == (2, False)
    assert referral_conflicts(referral)[panel_member2.pk] == "declared: Knows the family"
    with pytest.raises(ValidationError, match="not quorate"):
        decide(referral, panel_chair)


def test_a_member_who_manages_the_case_has_a_conflict(referral, panel_member, team_a):
    panel_member.team = team_a
    panel_member.save()
    panel_member.groups.add(*make_user("tmp", Role.TEAM_MANAGER).groups.all())
    assert referral_conflicts(referral)[panel_member.pk] == "manages the person's team"


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


def test_only_chairs_arrange_meetings_with_panel_people(panel_member, panel_chair, worker_a):
    with pytest.raises(PermissionDenied):
        meeting_create(actor=panel_member, date=REVIEW, chair=panel_chair, members=[panel_member])
    with pytest.raises(ValidationError):
        meeting_create(actor=panel_chair, date=REVIEW, chair=panel_chair, members=[worker_a])


# --- two chairs deciding at once ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_keep_exactly_one(
    submitted_a, person_a, worker_a, panel_chair, panel_member, panel_member2
):
    meeting = meeting_create(
        actor=panel_chair, date=REVIEW, chair=panel_chair, members=[panel_member, panel_member2]
    )
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


# --- pages -----------------------------------------------------------------------------------


def test_panel_pages_permission_matrix(client, referral, worker_a, worker_b, panel_member, auditor):
    urls = [
        reverse("panels:meeting_list"),
        reverse("panels:meeting_detail", args=[referral.meeting_id]),
        reverse("panels:referral_detail", args=[referral.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous
    client.force_login(worker_a)
    for url in urls:
        assert client.get(url).status_code == 403
    client.force_login(auditor)
    for url in urls:
        assert client.get(url).status_code == 200
    assert client.post(reverse("panels:meeting_list"), {"date": "2027-01-01"}).status_code == 403
    client.force_login(panel_member)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert "Record the panel" not in page and "Declare a conflict" in page
    response = client.post(
        reverse("panels:referral_decide", args=[referral.pk]),
        {"outcome": "approved", "reasons": "x"},
    )
    assert response.status_code == 403
    assert not PanelDecision.objects.exists()


def test_referral_page_shows_what_the_panel_needs(client, referral, panel_chair):
    client.force_login(panel_chair)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert "Assessment points by section" in page and "Section 1" in page
    assert "How this figure was worked out" in page
    assert "£140.00 a week" in page
    assert "exceeds the indicative budget by more than the 10% tolerance" in page
    assert "quorate" in page and "Record the panel" in page


def test_my_work_lists_what_waits_for_each_user(
    client, submitted_a, person_a, worker_a, manager_a, referral, panel_chair
):
    client.force_login(panel_chair)
    page = client.get(reverse("panels:my_work")).text
    assert person_a.full_name in page and "(chair)" in page
    decide(referral, panel_chair, "deferred", information_needed="OT report")
    client.force_login(worker_a)
    page = client.get(reverse("panels:my_work")).text
    assert "OT report" in page  # returned to me
    assert "panel deferred: more information needed" in page.lower()


def test_referral_page_shows_the_plan_as_referred_in_constant_queries(
    client, referral, panel_chair, worker_a, django_assert_max_num_queries
):
    from allocations.models import PlanLine

    client.force_login(panel_chair)
    url = reverse("panels:referral_detail", args=[referral.pk])
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    plan = referral.plan
    for n in range(8):  # straight into the table: the plan is at the panel, not editable
        PlanLine.objects.create(
            plan=plan,
            category="other",
            description=f"Item {n}",
            quantity=1,
            unit="item",
            unit_cost_gbp=1,
            frequency="week",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).text
    # The panel decides on the plan as it was referred, not as it is edited afterwards.
    assert "Item 7" not in page and "Personal assistant" in page


def test_whoever_wrote_the_plan_has_a_conflict(referral, panel_member, worker_a):
    from allocations.services.plans import plan_line_add
    from tests.factories import plan_line

    plan = referral.plan
    SupportPlan.objects.filter(pk=plan.pk).update(status="draft")
    plan.refresh_from_db()
    panel_member.team = worker_a.team
    panel_member.save()
    panel_member.user_permissions.add(
        *worker_a.groups.first().permissions.filter(codename__endswith="supportplan")
    )
    panel_member = type(panel_member).objects.get(pk=panel_member.pk)
    plan_line_add(actor=panel_member, plan=plan, data=plan_line(weekly="1.00"))
    assert referral_conflicts(referral)[panel_member.pk] == "wrote the support plan"


def test_declaring_a_conflict_in_the_browser(client, referral, panel_member, worker_a):
    url = reverse("panels:referral_conflict", args=[referral.pk])
    client.force_login(worker_a)
    assert client.post(url, {"reason": "x"}).status_code == 403
    client.force_login(panel_member)
    client.post(url, {"reason": "My neighbour"})
    assert referral_conflicts(referral)[panel_member.pk] == "declared: My neighbour"
    response = client.post(url, {"reason": "Again"}, follow=True)
    assert "already declared" in response.text
