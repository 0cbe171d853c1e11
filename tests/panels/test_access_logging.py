"""Every page that shows people's details logs each person shown (issue 14): lists and search
results in one INSERT, and the single-record pages that did not log before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import PersonAccess
from tests.factories import make_person

pytestmark = pytest.mark.django_db

Page = PersonAccess.Page


def logged(page) -> list[tuple[str, int]]:
    return sorted(PersonAccess.objects.filter(page=page).values_list("user__username", "person_id"))


def log_inserts(queries) -> int:
    return sum(
        q["sql"].startswith("INSERT INTO assessments_personaccess")
        for q in queries.captured_queries
    )


def test_the_people_list_logs_each_person_shown_in_one_insert(client, worker_a):
    people = [make_person(actor=worker_a, family_name=f"Zed{n:02d}") for n in range(30)]
    client.force_login(worker_a)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("assessments:person_list")).status_code == 200
    assert log_inserts(queries) == 1
    assert logged(Page.PEOPLE_LIST) == [("worker.a", p.pk) for p in people[:25]]
    assert PersonAccess.objects.first().path == reverse("assessments:person_list")


def test_search_results_log_only_the_people_found(client, worker_a):
    patel = make_person(actor=worker_a, given_name="Anil", family_name="Patel")
    make_person(actor=worker_a, given_name="Joan", family_name="Walsh")
    client.force_login(worker_a)
    client.get(reverse("assessments:person_list"), {"q": "patel"})
    assert logged(Page.PEOPLE_LIST) == [("worker.a", patel.pk)]
    assert PersonAccess.objects.get().path.endswith("?q=patel")
    client.get(reverse("assessments:person_list"), {"q": "nobody"})
    assert PersonAccess.objects.count() == 1  # nobody shown, nothing written


def test_the_edit_form_shown_again_after_a_refused_save_is_logged(client, worker_a, person_a):
    client.force_login(worker_a)
    response = client.post(
        reverse("assessments:person_edit", args=[person_a.pk]), {"given_name": ""}
    )
    assert response.status_code == 200  # the form again, with the person's details
    assert logged(Page.EDIT) == [("worker.a", person_a.pk)]


def test_the_assessment_start_and_withdraw_pages_are_logged(client, worker_a, person_a, draft_a):
    client.force_login(worker_a)
    client.get(reverse("assessments:assessment_start", args=[person_a.pk]))
    client.get(reverse("assessments:assessment_withdraw", args=[draft_a.pk]))
    assert logged(Page.ASSESSMENT_START) == [("worker.a", person_a.pk)]
    assert logged(Page.ASSESSMENT_WITHDRAW) == [("worker.a", person_a.pk)]


def test_my_work_logs_the_people_its_boxes_name(client, worker_a, person_a, draft_a):
    client.force_login(worker_a)
    page = client.get(reverse("panels:my_work")).text
    assert person_a.full_name in page
    assert logged(Page.MY_WORK) == [("worker.a", person_a.pk)]


def test_the_panel_meeting_pages_log_the_people_on_them(
    client, panel_chair, referral, person_a, meeting
):
    client.force_login(panel_chair)
    assert (
        person_a.full_name in client.get(reverse("panels:meeting_detail", args=[meeting.pk])).text
    )
    assert logged(Page.PANEL_MEETING) == [("panel.chair", person_a.pk)]


def test_the_meeting_list_logs_the_referrals_waiting_for_a_meeting(
    client, panel_chair, submitted_a, person_a, worker_a
):
    from allocations.services.plans import plan_submit
    from tests.factories import make_plan

    plan = make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours")
    plan_submit(actor=worker_a, plan=plan)  # at the panel, no meeting yet
    client.force_login(panel_chair)
    assert person_a.full_name in client.get(reverse("panels:meeting_list")).text
    assert logged(Page.PANEL_MEETINGS) == [("panel.chair", person_a.pk)]


def test_the_auditors_search_logs_the_people_it_lists(client, auditor, worker_a):
    patel = make_person(actor=worker_a, given_name="Anil", family_name="Patel")
    client.force_login(auditor)
    assert "Patel" in client.get(reverse("allocations:record_search"), {"q": "patel"}).text
    assert logged(Page.RECORDS_SEARCH) == [("auditor", patel.pk)]
