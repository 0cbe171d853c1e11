"""Reads for auditors (issue 13): a search across records (people, assessments, support plans,
budgets) and the whole service's access log, filtered by user, person and dates. Only the
holders of ACCESS_LOG_VIEW (auditors) use them; everyone else is refused (403).

They live in allocations because a search reaches its support plans and budgets, and the
log's CSV export is made formula-safe by the reports' exports (HOUSE STYLE §2b: assessments
imports neither)."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from allocations.models import IndicativeBudget, SupportPlan
from allocations.reports.exports import safe_text
from allocations.reports.scope import day_after, local_midnight
from assessments.models import Assessment, Person, PersonAccess, User
from assessments.roles import ACCESS_LOG_VIEW
from assessments.selectors.people import people_visible_to, person_list

NOT_AUDITOR = "Only auditors search across records and read the access log."
SEARCH_LIMIT = 50


def _require(user) -> None:
    if not user.has_perm(ACCESS_LOG_VIEW):
        raise PermissionDenied(NOT_AUDITOR)


@dataclass(frozen=True)
class SearchResults:
    people: list[Person]
    assessments: list[Assessment]
    plans: list[SupportPlan]
    budgets: list[IndicativeBudget]

    def __bool__(self) -> bool:
        return bool(self.people or self.assessments or self.plans or self.budgets)


def record_search(*, user, query: str) -> SearchResults:
    """People matching `query` as the people list matches it (name, council reference, date
    of birth); and, for a number, the assessment, support plan or indicative budget of that
    number. Only records of people the user may see (auditors see everyone). The page logs
    each person it lists (record_shown); opening one is logged by its own page, as always."""
    _require(user)
    query = query.strip()
    if not query:
        return SearchResults([], [], [], [])
    visible = people_visible_to(user)
    people = list(person_list(user=user, query=query)[:SEARCH_LIMIT])
    number = int(query) if query.isdigit() and len(query) < 10 else None
    if number is None:
        return SearchResults(people, [], [], [])
    if not any(p.pk == number for p in people):
        people += list(visible.filter(pk=number))
    assessments = list(
        Assessment.objects.filter(pk=number, person__in=visible).select_related("person")
    )
    plans = list(SupportPlan.objects.filter(pk=number, person__in=visible).select_related("person"))
    budgets = list(
        IndicativeBudget.objects.filter(pk=number, person__in=visible).select_related("person")
    )
    return SearchResults(people, assessments, plans, budgets)


def access_log(
    *,
    user,
    who: User | None = None,
    person: Person | None = None,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> QuerySet[PersonAccess]:
    """Every opening of a person's record, newest first, by `who`, of `person`, on the days
    from `start` to `end` (both included, the council's time zone): each filter only when
    given."""
    _require(user)
    accesses = PersonAccess.objects.select_related("user", "person")
    if who is not None:
        accesses = accesses.filter(user=who)
    if person is not None:
        accesses = accesses.filter(person=person)
    if start is not None:
        accesses = accesses.filter(accessed_at__gte=local_midnight(start))
    if end is not None:
        accesses = accesses.filter(accessed_at__lt=day_after(end))
    return accesses.order_by("-accessed_at", "-id")


ACCESS_LOG_HEADER = ["When", "Username", "Name", "Person's reference", "Person", "Page", "Path"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def access_log_csv_rows(accesses: QuerySet[PersonAccess]) -> Iterator[str]:
    """The log as CSV lines, a header first, written as they are read (the log can be long).
    Every text cell is made formula-safe (allocations.reports.exports.safe_text)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(ACCESS_LOG_HEADER)
    for access in accesses.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                timezone.localtime(access.accessed_at).strftime("%Y-%m-%d %H:%M:%S"),
                safe_text(access.user.username),
                safe_text(access.user.get_full_name()),
                safe_text(access.person.reference),
                safe_text(access.person.full_name),
                safe_text(access.get_page_display()),
                safe_text(access.path),
            ]
        )
