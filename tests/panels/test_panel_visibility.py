"""Who sees what on the panel: panel members and chairs read only the people referred to the
panel (on a meeting they belong to, or waiting for a meeting); everyone else is 404 for them,
as for another team's worker. Whole-service roles still read everyone. The meeting and the
referral on its agenda come from tests/panels/conftest.py."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from allocations.models import IndicativeBudget, SupportPlan
from allocations.services.plans import plan_submit
from assessments.roles import Role
from assessments.selectors.people import people_visible_to
from assessments.services.assessments import assessment_start, assessment_submit
from panels.services import meeting_create, panel_decide, referral_schedule
from tests.factories import complete_assessment, make_person, make_plan, make_user

pytestmark = pytest.mark.django_db


def _submitted_person(worker, **names):
    """Another person of the worker's team with a submitted assessment and a current budget."""
    person = make_person(actor=worker, **names)
    draft = assessment_start(actor=worker, person=person, supported_by="self")
    ready = complete_assessment(draft, worker)
    assessment_submit(actor=worker, assessment=ready, lock_version=ready.lock_version)
    return person


@pytest.fixture
def unreferred(referral, worker_a):
    """Someone on team A with an assessment, a budget and a plan under the budget: never
    referred to the panel."""
    person = _submitted_person(worker_a, given_name="Una", family_name="Referred")
    plan = make_plan(person, worker_a, weekly="100.00")
    assert not plan.referrals.exists()
    return person


@pytest.fixture
def waiting(referral, worker_a):
    """Someone whose plan is referred and waiting for a meeting (not yet on an agenda)."""
    person = _submitted_person(worker_a, given_name="Walter", family_name="Waiting")
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person, worker_a, weekly="140.00", difference_reason="More hours"),
    )
    referral = plan.referrals.get()
    assert referral.meeting_id is None
    return referral


def pages(person):
    """The person's page, their latest assessment, current budget and plan."""
    budget = IndicativeBudget.objects.filter(person=person).latest("created_at")
    plan = SupportPlan.objects.filter(person=person).latest("pk")
    return {
        "person": reverse("assessments:person_detail", args=[person.pk]),
        "assessment": reverse("assessments:assessment_summary", args=[budget.assessment_id]),
        "budget": reverse("allocations:budget_detail", args=[budget.pk]),
        "plan": reverse("allocations:plan_detail", args=[plan.pk]),
    }


# --- panel members and chairs: the people referred to their panel ----------------------------


@pytest.mark.parametrize("role", ["panel_member", "panel_chair"])
def test_panel_people_read_a_referred_person(client, referral, person_a, role, request):
    client.force_login(request.getfixturevalue(role))
    urls = pages(person_a)
    for name, url in urls.items():
        assert client.get(url).status_code == 200, name
    assert "How this figure was worked out" in client.get(urls["budget"]).text
    assert person_a.reference in client.get(reverse("assessments:person_list")).text
    assert client.get(reverse("panels:referral_detail", args=[referral.pk])).status_code == 200


@pytest.mark.parametrize("role", ["panel_member", "panel_chair"])
def test_a_referred_person_is_read_only_for_the_panel(client, referral, person_a, role, request):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("assessments:person_edit", args=[person_a.pk])).status_code == 403
    assessment = IndicativeBudget.objects.get(person=person_a).assessment
    step = reverse("assessments:assessment_step", args=[assessment.pk, 1])
    assert client.get(step).status_code == 403
    assert client.post(reverse("allocations:plan_start", args=[person_a.pk])).status_code == 403
    access_log = reverse("assessments:person_access_log", args=[person_a.pk])
    assert client.get(access_log).status_code == 403  # auditors only


@pytest.mark.parametrize("role", ["panel_member", "panel_chair"])
def test_panel_people_get_404_for_anyone_not_referred(client, unreferred, role, request):
    client.force_login(request.getfixturevalue(role))
    for name, url in pages(unreferred).items():
        assert client.get(url).status_code == 404, name
    people = client.get(reverse("assessments:person_list")).text
    assert unreferred.reference not in people and unreferred.family_name not in people
    edit = reverse("assessments:person_edit", args=[unreferred.pk])
    assert client.get(edit).status_code == 404  # not 403: no hint that the person exists


def test_panel_people_get_404_for_an_unreferred_persons_letter(
    client, unreferred, worker_a, panel_member
):
    from allocations.services.letters import letter_issue

    letter, _ = letter_issue(actor=worker_a, person=unreferred, kind="indicative")
    client.force_login(panel_member)
    url = reverse("allocations:letter_download", args=[letter.pk])
    assert client.get(url).status_code == 404


def test_a_decided_referral_stays_visible_to_its_meeting(client, referral, person_a, panel_chair):
    panel_decide(actor=panel_chair, referral=referral, outcome="approved", reasons="Safe.")
    referral.refresh_from_db()
    assert referral.status == "decided"
    for user in [panel_chair, *referral.meeting.members.all()]:
        client.force_login(user)
        assert client.get(pages(person_a)["person"]).status_code == 200, user


def test_people_waiting_for_a_meeting_are_visible_so_a_chair_can_schedule_them(
    client, waiting, meeting, panel_chair, panel_member
):
    person = waiting.plan.person
    client.force_login(panel_member)
    assert client.get(pages(person)["plan"]).status_code == 200
    assert person.full_name in client.get(reverse("panels:meeting_list")).text
    client.force_login(panel_chair)
    agenda = client.get(reverse("panels:meeting_detail", args=[meeting.pk])).text
    assert f"Add {person.full_name}" in agenda
    client.post(reverse("panels:meeting_schedule", args=[meeting.pk]), {"referral": waiting.pk})
    waiting.refresh_from_db()
    assert waiting.meeting_id == meeting.pk


# --- another meeting's people --------------------------------------------------------------


@pytest.fixture
def other_meeting(db):
    """A second meeting with its own chair and member, and nothing else in common."""
    chair = make_user("panel.chair2", Role.PANEL_CHAIR)
    member = make_user("panel.member3", Role.PANEL_MEMBER)
    return meeting_create(
        actor=chair,
        date=timezone.localdate() + datetime.timedelta(days=10),
        chair=chair,
        members=[member],
    )


def test_a_member_of_another_meeting_cannot_see_this_meetings_person(
    client, referral, person_a, other_meeting
):
    for user in [other_meeting.chair, *other_meeting.members.all()]:
        client.force_login(user)
        for name, url in pages(person_a).items():
            assert client.get(url).status_code == 404, (user, name)
        assert client.get(reverse("panels:referral_detail", args=[referral.pk])).status_code == 404
        # Nor the meeting, whose agenda names the person.
        meeting_url = reverse("panels:meeting_detail", args=[referral.meeting_id])
        assert client.get(meeting_url).status_code == 404
        listing = client.get(reverse("panels:meeting_list")).text
        assert person_a.full_name not in listing
        assert person_a.reference not in client.get(reverse("assessments:person_list")).text


def test_scheduling_a_waiting_referral_hides_it_from_other_meetings(
    waiting, meeting, panel_chair, panel_member, other_meeting
):
    outsider = other_meeting.members.get()
    person = waiting.plan.person
    assert people_visible_to(outsider).filter(pk=person.pk).exists()
    referral_schedule(actor=panel_chair, referral=waiting, meeting=meeting)
    assert not people_visible_to(outsider).filter(pk=person.pk).exists()
    assert people_visible_to(panel_member).filter(pk=person.pk).exists()


def test_the_panel_rule_gives_nothing_to_people_outside_the_panel(waiting, worker_b):
    # worker_b is on team B; the waiting referral is team A's.
    assert not people_visible_to(worker_b).filter(pk=waiting.plan.person_id).exists()


# --- whole-service roles still read everyone -------------------------------------------------


@pytest.mark.parametrize("role", ["senior_manager", "ras_admin", "auditor"])
def test_whole_service_roles_still_read_everyone(client, unreferred, person_a, role, request):
    client.force_login(request.getfixturevalue(role))
    for person in (person_a, unreferred):
        for name, url in pages(person).items():
            assert client.get(url).status_code == 200, (person, name)
    people = client.get(reverse("assessments:person_list")).text
    assert person_a.reference in people and unreferred.reference in people


def test_a_chair_who_arranges_a_meeting_for_another_chair_still_sees_it(
    client, panel_chair, other_meeting
):
    arranged = meeting_create(
        actor=panel_chair,
        date=timezone.localdate() + datetime.timedelta(days=20),
        chair=other_meeting.chair,
        members=[],
    )
    client.force_login(panel_chair)
    assert client.get(reverse("panels:meeting_detail", args=[arranged.pk])).status_code == 200
    assert client.get(reverse("panels:meeting_detail", args=[other_meeting.pk])).status_code == 404
