"""People on the caseload: create and change their records (with optimistic locking), and the
append-only log of who opened a record."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assessments.models import REFERENCE_DUPLICATE_MESSAGE, Person, PersonAccess, Team, User
from assessments.roles import PERSON_ADD, PERSON_CHANGE, PERSON_VIEW
from assessments.selectors.people import team_allowed
from assessments.services.concurrency import ConcurrentEdit, who_and_when

PERSON_FIELDS = (
    "reference",
    "title",
    "given_name",
    "family_name",
    "preferred_name",
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


TEAM_NOT_ALLOWED = "You can only keep records for your own team's people."


def check_team(*, actor: User, team: Team) -> None:
    """PermissionDenied(TEAM_NOT_ALLOWED) unless the team rule (`team_allowed`) lets `actor`
    keep records for `team`'s people. Shared with the assessment services."""
    if not team_allowed(actor, team.pk):
        raise PermissionDenied(TEAM_NOT_ALLOWED)


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
    check_team(actor=actor, team=person.team)
    return _save_person(person, actor=actor)


PERSON_CONCURRENT_EDIT = (
    "{who} changed this record at {when} while you were editing it. Nothing of yours has been "
    "saved yet: your changes are shown below, with the latest saved details beside any that "
    "differ. Check them and save again."
)


def _person_conflict(person: Person) -> ConcurrentEdit:
    """Name whoever made the latest change: the user of the record's newest history row."""
    latest = (
        person.history.select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )
    who, when = (latest.history_user, latest.history_date) if latest else (None, person.updated_at)
    return ConcurrentEdit(PERSON_CONCURRENT_EDIT.format(**who_and_when(who, when)))


@transaction.atomic
def person_update(
    *, actor: User, person: Person, data: dict[str, Any], lock_version: int | None = None
) -> Person:
    """Change a person's details; the history records the actor and every field changed.

    `lock_version` is the number the editor's page was built from: if the record has been
    saved since, ConcurrentEdit (naming who and when) is raised and nothing is saved. Internal
    callers that are not editing from a page (demo data, re-pricing) pass None: no check.
    Every save adds one to the record's lock_version.
    """
    if not actor.has_perm(PERSON_CHANGE):
        raise PermissionDenied("Your role cannot change people's records.")
    # The row alone (no joins): see lock_draft in assessments.services.assessments.
    person = Person.objects.select_for_update().get(pk=person.pk)
    check_team(actor=actor, team=person.team)
    if lock_version is not None and person.lock_version != lock_version:
        raise _person_conflict(person)
    for name in PERSON_FIELDS:
        if name in data:
            setattr(person, name, data[name])
    check_team(actor=actor, team=person.team)
    person.lock_version += 1
    return _save_person(person, actor=actor)


def person_access_record(*, user: User, person: Person, page: str, path: str) -> PersonAccess:
    """Write one line of the append-only access log: this user opened this person's record.

    Callers have already fetched `person` through `person_get_for_user`; PermissionDenied for a
    user whose role cannot see people's records at all (nothing is written).
    """
    if not user.has_perm(PERSON_VIEW):
        raise PermissionDenied("Your role cannot see people's records.")
    return PersonAccess.objects.create(user=user, person=person, page=page, path=path[:300])


def people_access_record(*, user: User, people, page: str, path: str) -> int:
    """Log that this user was shown each of `people` (Person objects or ids) on one page: a
    list, a search result, an agenda, an export. One INSERT for them all, one row a person
    (each shown once however often they appear). Returns the number of rows written.

    Callers show only people the user may see; PermissionDenied (nothing written) for a role
    that cannot see people's records at all.
    """
    ids = list(dict.fromkeys(getattr(p, "pk", p) for p in people))
    if not ids:
        return 0
    if not user.has_perm(PERSON_VIEW):
        raise PermissionDenied("Your role cannot see people's records.")
    now = timezone.now()
    path = path[:300]
    if connection.vendor == "postgresql":
        # One statement however many (an export of 100,000 people): the ids as one array.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {PersonAccess._meta.db_table} "  # noqa: S608 (the model's table)
                "(user_id, person_id, page, path, accessed_at) "
                "SELECT %s, unnest(%s::bigint[]), %s, %s, %s",
                [user.pk, ids, page, path, now],
            )
    else:
        PersonAccess.objects.bulk_create(
            PersonAccess(user=user, person_id=pk, page=page, path=path, accessed_at=now)
            for pk in ids
        )
    return len(ids)
