"""Who sees reports, for which teams: a team manager their own team (another team is refused),
the roles that see every team all of them, and every other role nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied

from allocations.reports.scope import report_scope_for_user, reports_visible
from assessments.models import ClientGroup, Person
from assessments.roles import Role
from tests.factories import make_person, make_team, make_user

START, END = datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)
pytestmark = pytest.mark.django_db


@pytest.fixture
def teams():
    return make_team("north", "North"), make_team("south", "South")


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (Role.SOCIAL_WORKER, False),
        (Role.PANEL_MEMBER, False),
        (Role.PANEL_CHAIR, False),
        (Role.TEAM_MANAGER, True),
        (Role.RAS_ADMINISTRATOR, True),
        (Role.SENIOR_MANAGER, True),
        (Role.AUDITOR, True),
    ],
)
def test_which_roles_see_reports(teams, role, sees):
    user = make_user(f"u-{role.value}", role, team=teams[0])

    assert reports_visible(user) is sees
    if not sees:
        with pytest.raises(PermissionDenied):
            report_scope_for_user(user, start=START, end=END)


def test_a_team_manager_sees_their_own_team_and_is_refused_another(teams):
    north, south = teams
    manager = make_user("tm", Role.TEAM_MANAGER, team=north)

    assert report_scope_for_user(manager, start=START, end=END).team_ids == (north.pk,)
    assert report_scope_for_user(manager, start=START, end=END, team_id=north.pk).team_ids == (
        north.pk,
    )
    with pytest.raises(PermissionDenied):
        report_scope_for_user(manager, start=START, end=END, team_id=south.pk)


@pytest.mark.parametrize("role", [Role.SENIOR_MANAGER, Role.RAS_ADMINISTRATOR, Role.AUDITOR])
def test_the_whole_service_roles_see_every_team_or_the_one_they_choose(teams, role):
    user = make_user("whole", role)

    assert report_scope_for_user(user, start=START, end=END).team_ids is None
    chosen = report_scope_for_user(user, start=START, end=END, team_id=teams[1].pk)
    assert chosen.team_ids == (teams[1].pk,)


def test_the_scope_filters_people_by_team_and_client_group_and_says_so_in_words(teams):
    north, south = teams
    worker = make_user("sw", Role.SOCIAL_WORKER, team=north)
    other = make_user("sw2", Role.SOCIAL_WORKER, team=south)
    older = make_person(actor=worker, client_group=ClientGroup.OLDER_PEOPLE)
    make_person(actor=worker, client_group=ClientGroup.LEARNING_DISABILITY)
    make_person(actor=other, client_group=ClientGroup.OLDER_PEOPLE)
    senior = make_user("senior", Role.SENIOR_MANAGER)

    scope = report_scope_for_user(
        senior, start=START, end=END, team_id=north.pk, client_group=ClientGroup.OLDER_PEOPLE
    )

    assert list(Person.objects.filter(scope.people())) == [older]
    assert scope.describe() == "1 January 2026 to 30 June 2026; North; Older people"
    everyone = report_scope_for_user(senior, start=START, end=END)
    assert Person.objects.filter(everyone.people()).count() == 3
    assert everyone.describe().endswith("every team; every client group")


def test_a_period_that_ends_before_it_starts_or_an_unknown_group_is_refused(teams):
    senior = make_user("senior", Role.SENIOR_MANAGER)

    with pytest.raises(ValueError, match="ends before it starts"):
        report_scope_for_user(senior, start=END, end=START)
    with pytest.raises(ValueError, match="Unknown client group"):
        report_scope_for_user(senior, start=START, end=END, client_group="martians")
