"""Factories for tests. People are made through the same service the pages use."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.contrib.auth.models import Group

from assessments.models import ClientGroup, Person, Team, User
from assessments.roles import Role
from assessments.services import person_create

TEST_PASSWORD = "a-long-test-password-42"
_sequence = itertools.count(1)


def make_team(code: str, name: str | None = None) -> Team:
    team, _ = Team.objects.get_or_create(code=code, defaults={"name": name or f"{code} team"})
    return team


def make_user(username: str, role: Role | None, team: Team | None = None, **extra) -> User:
    user = User(username=username, first_name=username.title(), team=team, **extra)
    user.set_password(TEST_PASSWORD)
    user.save()
    if role is not None:
        user.groups.add(Group.objects.get(name=role.label))
    return user


def person_data(team: Team, **overrides) -> dict:
    n = next(_sequence)
    data = {
        "reference": f"T-{n:05d}",
        "given_name": "Alex",
        "family_name": f"Example{n}",
        "date_of_birth": datetime.date(1950, 3, 14),
        "client_group": ClientGroup.OLDER_PEOPLE,
        "team": team,
        "address_line_1": "1 High Street",
        "address_line_2": "",
        "town": "Northby",
        "postcode": "NB1 1AA",
        "existing_weekly_cost_gbp": Decimal("120.00"),
        "needs_increased": False,
        "sex": "",
        "ethnicity": "",
    }
    data.update(overrides)
    return data


def make_person(*, actor: User, team: Team | None = None, **overrides) -> Person:
    return person_create(actor=actor, data=person_data(team or actor.team, **overrides))


def form_data(data: dict) -> dict:
    """A person's data as the browser would post it."""
    posted = {}
    for key, value in data.items():
        if isinstance(value, Team):
            value = value.pk
        elif value is None:
            value = ""
        elif isinstance(value, bool):
            if not value:
                continue
            value = "on"
        posted[key] = str(value)
    return posted
