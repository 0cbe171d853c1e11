"""Writes. Each runs in one transaction and records who did it in the history."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from assessments.models import REFERENCE_DUPLICATE_MESSAGE, Person, PersonAccess, Team, User
from assessments.roles import PEOPLE_ALL_TEAMS, PERSON_ADD, PERSON_CHANGE

PERSON_FIELDS = (
    "reference",
    "given_name",
    "family_name",
    "date_of_birth",
    "client_group",
    "team",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "existing_weekly_cost_gbp",
    "needs_increased",
    "sex",
    "ethnicity",
)


def _check_team(*, actor: User, team: Team) -> None:
    if actor.has_perm(PEOPLE_ALL_TEAMS):
        return
    if actor.team_id is None or actor.team_id != team.pk:
        raise PermissionDenied("You can only keep records for your own team's people.")


def _save_person(person: Person, *, actor: User) -> Person:
    person.full_clean()
    person._history_user = actor  # simple-history: author of this history row
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        # Two people saving the same new reference at once: the database's unique constraint
        # catches what full_clean() could not.
        if "reference" in str(exc):
            raise ValidationError({"reference": REFERENCE_DUPLICATE_MESSAGE}) from None
        raise
    return person


@transaction.atomic
def person_create(*, actor: User, data: dict[str, Any]) -> Person:
    """Create a person on the caseload.

    `data` holds PERSON_FIELDS (missing optional ones default). Raises PermissionDenied if the
    actor may not add people to that team, ValidationError (by field) for bad input; nothing is
    saved in either case.
    """
    if not actor.has_perm(PERSON_ADD):
        raise PermissionDenied("Your role cannot add people.")
    person = Person(**{name: data[name] for name in PERSON_FIELDS if name in data})
    _check_team(actor=actor, team=person.team)
    return _save_person(person, actor=actor)


@transaction.atomic
def person_update(*, actor: User, person: Person, data: dict[str, Any]) -> Person:
    """Change a person's details; the history records the actor and every field changed."""
    if not actor.has_perm(PERSON_CHANGE):
        raise PermissionDenied("Your role cannot change people's records.")
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_team(actor=actor, team=person.team)
    for name in PERSON_FIELDS:
        if name in data:
            setattr(person, name, data[name])
    _check_team(actor=actor, team=person.team)
    return _save_person(person, actor=actor)


def person_access_record(*, user: User, person: Person, page: str, path: str) -> PersonAccess:
    """Write one line of the append-only access log: this user opened this person's record."""
    return PersonAccess.objects.create(user=user, person=person, page=page, path=path[:300])
