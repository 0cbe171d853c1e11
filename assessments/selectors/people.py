"""People: who a user may see (the team rule, `people_visible_to` and the rules other apps
register), the one door to a person's record (`person_get_for_user`), the caseload search, a
person's history and the log of who opened their record."""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable
from functools import reduce

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from assessments.models import Person, PersonAccess
from assessments.roles import (
    ACCESS_LOG_VIEW,
    ASSESSMENT_ADD,
    PEOPLE_ALL_TEAMS,
    PERSON_ADD,
    PERSON_CHANGE,
    PERSON_VIEW,
)
from assessments.selectors.history import HistoryEntry, history_entries
from ras_site.compiled import fetch, user_key

_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


# Who else a user may see, beyond their team's caseload. Apps higher up register a rule in
# their AppConfig.ready() (panels: the people referred to a panel the user sits on), so
# assessments never imports them (HOUSE STYLE §2b). A rule takes the user and returns a Q on
# Person, a queryset of Person ids, or None when it grants nothing.
VisibilityRule = Callable[..., Q | QuerySet | None]
_visibility_rules: list[VisibilityRule] = []


def register_visibility(rule: VisibilityRule) -> VisibilityRule:
    """Add a rule to people_visible_to (idempotent, so ready() may run twice)."""
    if rule not in _visibility_rules:
        _visibility_rules.append(rule)
    return rule


def people_visible_to(user) -> QuerySet[Person]:
    """Everyone a user may see: everyone for whole-service roles; otherwise their team's
    caseload and whatever the registered rules add (e.g. people referred to their panel).

    The one door: every look-up of a person, or of anything that belongs to one (assessments,
    budgets, plans, letters), filters by this."""
    if not user.is_authenticated or not user.has_perm(PERSON_VIEW):
        return Person.objects.none()
    people = Person.objects.select_related("team")
    if user.has_perm(PEOPLE_ALL_TEAMS):
        return people
    allowed = []
    if user.team_id is not None:
        allowed.append(Q(team_id=user.team_id))  # the team rule (team_allowed) as a filter
    for rule in _visibility_rules:
        extra = rule(user)
        if extra is None:
            continue
        allowed.append(extra if isinstance(extra, Q) else Q(pk__in=extra))
    if not allowed:
        return Person.objects.none()
    return people.filter(reduce(operator.or_, allowed))


def team_allowed(user, team_id: int | None) -> bool:
    """The team rule: may `user` see and keep records for the people of team `team_id`?

    True for a whole-service role (PEOPLE_ALL_TEAMS, e.g. RAS administrators, auditors);
    otherwise only for the user's own team, so never for a user without a team or for a
    `team_id` of None. It says nothing about the role's other permissions (adding, changing):
    callers check those separately. No database query once the user's permissions are cached.
    `people_visible_to` applies the same rule as a filter (and adds the registered rules).
    """
    if user.has_perm(PEOPLE_ALL_TEAMS):
        return True
    return user.team_id is not None and user.team_id == team_id


def _parse_date(text: str) -> datetime.date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    return None


def person_list(*, user, query: str = "") -> QuerySet[Person]:
    """People the user may see, matching a search of name, reference or date of birth.

    A query that reads as a date (31/12/1950 or 1950-12-31) matches the date of birth; otherwise
    every word must appear in the first name, last name or reference.
    """
    people = people_visible_to(user)
    query = query.strip()
    if not query:
        return people
    date_of_birth = _parse_date(query)
    if date_of_birth is not None:
        return people.filter(date_of_birth=date_of_birth)
    for word in re.split(r"\s+", query):
        people = people.filter(
            Q(given_name__icontains=word)
            | Q(family_name__icontains=word)
            | Q(reference__icontains=word)
        )
    return people


# What a user who may see a person is told when their role lacks the permission asked for.
PERSON_DENIED = {
    PERSON_CHANGE: "Your role can read this record but not change it.",
    ASSESSMENT_ADD: "Your role cannot start assessments.",
    ACCESS_LOG_VIEW: "Only auditors can see who has opened a record.",
}


def person_get_for_user(*, user, pk: int, permission: str | None = None) -> Person:
    """The one door to a person's record.

    Http404 if `user` may not see the person (`people_visible_to`: other teams' people are not
    revealed to exist); then PermissionDenied if a `permission` is asked for (one of
    PERSON_DENIED's keys: the action the page is for) and the user's role lacks it.
    """
    # Every person page's first read: compiled once a day for each user (ras_site.compiled).
    found = fetch(
        lambda pk: people_visible_to(user).filter(pk=pk),
        ("person", *user_key(user)),
        args=(int(pk),),
    )
    if not found:
        raise Http404("No such person on your caseload.")
    person = found[0]
    if permission is not None and not user.has_perm(permission):
        raise PermissionDenied(PERSON_DENIED[permission])
    return person


def person_get_for_change(*, user, pk: int) -> Person:
    """The person, if the user may change them: 404 if not visible, 403 if read-only."""
    return person_get_for_user(user=user, pk=pk, permission=PERSON_CHANGE)


def person_can_add(user) -> bool:
    """Whether the user may add a person to some team: the role adds people, and the team rule
    allows them a team (their own, or any for a whole-service role)."""
    return user.has_perm(PERSON_ADD) and team_allowed(user, user.team_id)


def person_history(*, person: Person) -> list[HistoryEntry]:
    """Every change to a person, newest first, with the fields that changed (one query each
    for the history rows and the teams they name)."""
    records = person.history.select_related("history_user", "team").order_by(
        "history_date", "history_id"
    )
    return history_entries(records, Person)


def person_access_list(*, user, person: Person) -> QuerySet[PersonAccess]:
    """Who opened this person's record, newest first. Auditors only."""
    if not user.has_perm(ACCESS_LOG_VIEW):
        raise PermissionDenied(PERSON_DENIED[ACCESS_LOG_VIEW])
    return person.accesses.select_related("user")
