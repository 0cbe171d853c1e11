"""The team rule (`team_allowed`) and the one door to a person's record
(`person_get_for_user`): login, wrong team → 404, wrong role → 403, right role → works."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from assessments.forms import PersonForm
from assessments.models import Team
from assessments.roles import ACCESS_LOG_VIEW, ASSESSMENT_ADD, PERSON_CHANGE, Role
from assessments.selectors.people import (
    PERSON_DENIED,
    person_can_add,
    person_get_for_change,
    person_get_for_user,
    team_allowed,
)
from assessments.services.people import TEAM_NOT_ALLOWED, person_access_record, person_create
from tests.factories import make_user, person_data

pytestmark = pytest.mark.django_db


# --- the team rule ---------------------------------------------------------------------------


def test_a_team_worker_is_allowed_their_own_team_only(worker_a, team_a, team_b):
    assert team_allowed(worker_a, team_a.pk) is True
    assert team_allowed(worker_a, team_b.pk) is False
    assert team_allowed(worker_a, None) is False


def test_a_whole_service_role_is_allowed_every_team(ras_admin, auditor, team_a, team_b):
    for user in (ras_admin, auditor):
        assert team_allowed(user, team_a.pk) is True
        assert team_allowed(user, team_b.pk) is True


def test_a_user_without_a_team_is_allowed_no_team(panel_member, team_a):
    assert panel_member.team_id is None
    assert team_allowed(panel_member, team_a.pk) is False
    assert team_allowed(panel_member, None) is False


def test_the_services_refuse_another_team_with_the_rules_message(worker_a, team_b):
    with pytest.raises(PermissionDenied, match=re.escape(TEAM_NOT_ALLOWED)):
        person_create(actor=worker_a, data=person_data(team_b))


def test_person_can_add_follows_the_team_rule(worker_a, panel_member):
    assert person_can_add(worker_a) is True
    assert person_can_add(panel_member) is False  # no add permission, no team
    worker_without_team = make_user("worker.no.team", Role.SOCIAL_WORKER)
    assert person_can_add(worker_without_team) is False


def test_the_person_form_offers_only_the_teams_the_rule_allows(worker_a, auditor, team_a, team_b):
    own = PersonForm(user=worker_a).fields["team"]
    assert list(own.queryset) == [team_a]
    assert own.initial == team_a.pk
    assert own.empty_label is None
    every = PersonForm(user=auditor).fields["team"]
    assert set(every.queryset) == set(Team.objects.all()) == {team_a, team_b}
    assert every.empty_label is not None


# --- the door --------------------------------------------------------------------------------


def test_the_door_is_shut_to_anonymous_users(person_a):
    with pytest.raises(Http404):
        person_get_for_user(user=AnonymousUser(), pk=person_a.pk)


def test_the_door_hides_another_teams_person(worker_b, person_a):
    for permission in (None, PERSON_CHANGE, ASSESSMENT_ADD):
        with pytest.raises(Http404):
            person_get_for_user(user=worker_b, pk=person_a.pk, permission=permission)


def test_the_door_hides_a_person_who_does_not_exist(worker_a):
    with pytest.raises(Http404):
        person_get_for_user(user=worker_a, pk=999_999)


@pytest.mark.parametrize("permission", [PERSON_CHANGE, ASSESSMENT_ADD])
def test_the_door_refuses_a_role_that_may_read_but_not_act(auditor, person_a, permission):
    assert person_get_for_user(user=auditor, pk=person_a.pk) == person_a
    with pytest.raises(PermissionDenied, match=PERSON_DENIED[permission]):
        person_get_for_user(user=auditor, pk=person_a.pk, permission=permission)


def test_the_door_refuses_the_access_log_to_all_but_auditors(worker_a, auditor, person_a):
    with pytest.raises(PermissionDenied, match=PERSON_DENIED[ACCESS_LOG_VIEW]):
        person_get_for_user(user=worker_a, pk=person_a.pk, permission=ACCESS_LOG_VIEW)
    assert person_get_for_user(user=auditor, pk=person_a.pk, permission=ACCESS_LOG_VIEW)


@pytest.mark.parametrize("permission", [None, PERSON_CHANGE, ASSESSMENT_ADD])
def test_the_door_opens_for_the_right_role_and_team(worker_a, person_a, permission):
    assert person_get_for_user(user=worker_a, pk=person_a.pk, permission=permission) == person_a


def test_person_get_for_change_is_the_door_asking_for_person_change(worker_a, auditor, person_a):
    assert person_get_for_change(user=worker_a, pk=person_a.pk) == person_a
    with pytest.raises(PermissionDenied, match=PERSON_DENIED[PERSON_CHANGE]):
        person_get_for_change(user=auditor, pk=person_a.pk)


def test_the_access_log_refuses_a_user_whose_role_sees_no_records(person_a):
    nobody = make_user("no.role", None)
    with pytest.raises(PermissionDenied):
        person_access_record(user=nobody, person=person_a, page="detail", path="/people/1/")
    assert person_a.accesses.count() == 0
