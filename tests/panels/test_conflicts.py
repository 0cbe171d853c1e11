"""Conflicts of interest: worked out (assessed, wrote the plan, manages the team) or declared
by a member of the referral's meeting; a conflicted member does not count towards the quorum."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from allocations.models import SupportPlan
from assessments.roles import Role
from panels.services import (
    ALREADY_DECIDED_CONFLICT,
    ONLY_MEMBERS_DECLARE,
    conflict_declare,
    quorum_for,
    referral_conflicts,
)
from tests.factories import make_user
from tests.panels.helpers import decide

pytestmark = pytest.mark.django_db


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


def test_only_the_meetings_members_declare_while_it_waits(
    referral, panel_member, panel_chair, auditor
):
    for actor in (make_user("other.chair", Role.PANEL_CHAIR), auditor):
        with pytest.raises(PermissionDenied, match=ONLY_MEMBERS_DECLARE):
            conflict_declare(actor=actor, referral=referral, reason="x")
    decide(referral, panel_chair)
    with pytest.raises(ValidationError, match=ALREADY_DECIDED_CONFLICT):
        conflict_declare(actor=panel_member, referral=referral, reason="x")


def test_the_conflict_page_permission_matrix(client, referral, panel_member, worker_a):
    url = reverse("panels:referral_conflict", args=[referral.pk])
    response = client.post(url, {"reason": "x"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(make_user("other.chair", Role.PANEL_CHAIR))
    assert client.post(url, {"reason": "x"}).status_code == 404
    client.force_login(worker_a)
    assert client.post(url, {"reason": "x"}).status_code == 403
    client.force_login(panel_member)
    assert client.get(url).status_code == 405
    response = client.post(url, {"reason": "My neighbour"})
    assert response.url == reverse("panels:referral_detail", args=[referral.pk])
    assert referral.conflicts.get().member == panel_member
