"""The auditor's search across records and the service's access log (issue 13): auditors only,
filters by user, person and dates, paginated in constant queries, CSV export safe from
spreadsheet formulas."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocations.forms import AccessLogFilterForm
from assessments.models import PersonAccess
from assessments.roles import Role
from assessments.services.people import person_access_record
from tests.factories import make_person, make_plan, make_user

pytestmark = pytest.mark.django_db

SEARCH = reverse("allocations:record_search")
LOG = reverse("allocations:access_log")
LOG_CSV = reverse("allocations:access_log_csv")


def opened(user, person, *, on: datetime.date | None = None, page=PersonAccess.Page.DETAIL):
    when = timezone.make_aware(datetime.datetime.combine(on, datetime.time(10))) if on else None
    with time_machine.travel(when, tick=False) if when else _nothing():
        person_access_record(user=user, person=person, page=page, path=f"/people/{person.pk}/")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("url", [SEARCH, LOG, LOG_CSV])
def test_only_auditors_search_records_and_read_the_log(
    client, url, worker_a, manager_a, panel_chair, ras_admin, senior_manager, auditor
):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    for user in (worker_a, manager_a, panel_chair, ras_admin, senior_manager):
        client.force_login(user)
        assert client.get(url).status_code == 403, user
    client.force_login(auditor)
    assert client.get(url).status_code == 200


def test_the_log_is_filtered_by_who_whose_record_and_dates(
    client, person_a, worker_a, manager_a, auditor
):
    other = make_person(actor=worker_a, given_name="Walter", family_name="Brown")
    opened(worker_a, person_a, on=datetime.date(2026, 3, 1))
    opened(manager_a, person_a, on=datetime.date(2026, 3, 10))
    opened(worker_a, other, on=datetime.date(2026, 3, 20))
    client.force_login(auditor)

    def rows(**filters) -> str:
        page = client.get(LOG, filters).content.decode()
        return page[page.index('id="access-log"') :]

    everyone = rows()
    assert "3 openings" in everyone
    by_manager = rows(who=manager_a.pk)
    assert "1 opening" in by_manager and "Manager.A" in by_manager
    of_walter = rows(person=other.reference)
    # The worker's opening, and the auditor's own: filtering by a person opens their record.
    assert "2 openings" in of_walter and person_a.full_name not in of_walter
    assert "Walter Brown" in of_walter and "Auditor" in of_walter
    early_march = rows(start="2026-03-01", end="2026-03-10")
    assert "2 openings" in early_march and "Walter Brown" not in early_march
    assert PersonAccess.objects.filter(
        user=auditor, person=other, page=PersonAccess.Page.ACCESS_LOG
    ).exists()


def test_bad_filters_are_explained_next_to_the_field_and_list_nothing(client, auditor, person_a):
    client.force_login(auditor)
    page = client.get(LOG, {"person": "NOPE-1"}).content.decode()
    assert AccessLogFilterForm.PERSON_UNKNOWN in page and "0 openings" in page
    page = client.get(LOG, {"start": "2026-03-10", "end": "2026-03-01"}).content.decode()
    assert AccessLogFilterForm.DATES_REVERSED in page


def test_the_log_pages_in_constant_queries(client, person_a, worker_a, auditor):
    client.force_login(auditor)
    opened(worker_a, person_a)
    with CaptureQueriesContext(connection) as one:
        client.get(LOG)
    for n in range(60):
        worker = make_user(f"worker.{n}", Role.SOCIAL_WORKER, person_a.team)
        opened(worker, person_a)
    with CaptureQueriesContext(connection) as many:
        page = client.get(LOG).content.decode()
    assert len(many) == len(one)
    assert "Page 1 of 2" in page


def test_the_csv_has_every_filtered_row_and_runs_no_formula(client, person_a, team_a, auditor):
    sly = make_user("sly", Role.SOCIAL_WORKER, team_a)
    sly.first_name = "=HYPERLINK(1)"
    sly.save()
    opened(sly, person_a, on=datetime.date(2026, 3, 1))
    opened(sly, person_a, on=datetime.date(2026, 4, 1))
    client.force_login(auditor)
    response = client.get(LOG_CSV, {"end": "2026-03-31"})
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["When", "Username", "Name"]
    assert len(rows) == 2
    assert rows[1][1] == "sly" and rows[1][2].startswith("'=HYPERLINK(1)")
    assert rows[1][3] == person_a.reference


def test_the_search_finds_people_and_records_by_number(
    client, submitted_a, person_a, worker_a, auditor
):
    plan = make_plan(person_a, worker_a, weekly="120")
    client.force_login(auditor)
    page = client.get(SEARCH, {"q": "Atkinson"}).content.decode()
    assert reverse("assessments:person_detail", args=[person_a.pk]) in page
    page = client.get(SEARCH, {"q": str(plan.pk)}).content.decode()
    assert f"Support plan {plan.pk} for {person_a.full_name}" in page
    page = client.get(SEARCH, {"q": str(submitted_a.pk)}).content.decode()
    assert f"Assessment {submitted_a.pk} of {person_a.full_name}" in page
    page = client.get(SEARCH, {"q": "Nobody-like-this"}).content.decode()
    assert "Nothing matches" in page
    # Each listing logs the people it showed (here always person_a): three searches found her.
    shown = PersonAccess.objects.filter(user=auditor, page=PersonAccess.Page.RECORDS_SEARCH)
    assert list(shown.values_list("person_id", flat=True)) == [person_a.pk] * 3
