"""The one door to an assessment (`assessment_get_for_user` / `assessment_get_for_change`) and
the start page's use of the person's door: login, wrong team → 404, wrong role → 403, right
role → works."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from assessments.selectors.assessments import assessment_get_for_change, assessment_get_for_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("door", [assessment_get_for_user, assessment_get_for_change])
def test_the_door_is_shut_to_anonymous_users(draft_a, door):
    with pytest.raises(Http404):
        door(user=AnonymousUser(), pk=draft_a.pk)


@pytest.mark.parametrize("door", [assessment_get_for_user, assessment_get_for_change])
def test_the_door_hides_another_teams_assessment(worker_b, draft_a, door):
    with pytest.raises(Http404):
        door(user=worker_b, pk=draft_a.pk)


def test_the_door_hides_an_assessment_from_a_role_that_reads_no_assessments(draft_a):
    from tests.factories import make_user

    nobody = make_user("no.role", None)
    with pytest.raises(Http404):
        assessment_get_for_user(user=nobody, pk=draft_a.pk)


def test_a_read_only_role_may_see_but_not_change(auditor, draft_a):
    assert assessment_get_for_user(user=auditor, pk=draft_a.pk) == draft_a
    with pytest.raises(PermissionDenied):
        assessment_get_for_change(user=auditor, pk=draft_a.pk)


def test_the_door_opens_for_the_right_role_and_team(worker_a, draft_a):
    assert assessment_get_for_user(user=worker_a, pk=draft_a.pk) == draft_a
    assert assessment_get_for_change(user=worker_a, pk=draft_a.pk) == draft_a


# --- the start page goes through the person's door -------------------------------------------


def test_start_page_needs_a_login(client, person_a):
    response = client.get(reverse("assessments:assessment_start", args=[person_a.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_start_page_hides_another_teams_person(client, worker_b, person_a):
    client.force_login(worker_b)
    response = client.get(reverse("assessments:assessment_start", args=[person_a.pk]))
    assert response.status_code == 404


def test_start_page_refuses_a_read_only_role(client, auditor, person_a):
    client.force_login(auditor)
    response = client.get(reverse("assessments:assessment_start", args=[person_a.pk]))
    assert response.status_code == 403


def test_start_page_opens_for_the_persons_team(client, worker_a, person_a, questionnaire):
    client.force_login(worker_a)
    response = client.get(reverse("assessments:assessment_start", args=[person_a.pk]))
    assert response.status_code == 200
