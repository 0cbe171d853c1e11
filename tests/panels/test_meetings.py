"""Panel meetings: arranging one, setting its agenda, and the panel pages' permission matrix."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from allocations.services.plans import plan_submit
from assessments.roles import Role
from panels.models import (
    PanelDecision,
    PanelMeeting,
)
from panels.services import (
    ALREADY_DECIDED_SCHEDULE,
    ONLY_CHAIRS_SCHEDULE,
    meeting_create,
    referral_schedule,
    referral_withdraw,
)
from panels.views import CHOOSE_REFERRAL
from tests.factories import date_parts, make_plan, make_user

pytestmark = pytest.mark.django_db
REVIEW = datetime.date(2027, 3, 1)


def test_only_chairs_arrange_meetings_with_panel_people(panel_member, panel_chair, worker_a):
    with pytest.raises(PermissionDenied):
        meeting_create(actor=panel_member, date=REVIEW, chair=panel_chair, members=[panel_member])
    with pytest.raises(ValidationError):
        meeting_create(actor=panel_chair, date=REVIEW, chair=panel_chair, members=[worker_a])


def test_panel_pages_permission_matrix(client, referral, worker_a, worker_b, panel_member, auditor):
    urls = [
        reverse("panels:meeting_list"),
        reverse("panels:meeting_detail", args=[referral.meeting_id]),
        reverse("panels:referral_detail", args=[referral.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous
    client.force_login(worker_a)
    for url in urls:
        assert client.get(url).status_code == 403
    client.force_login(auditor)
    for url in urls:
        assert client.get(url).status_code == 200
    assert (
        client.post(reverse("panels:meeting_create"), date_parts("date", "2027-01-01")).status_code
        == 403
    )
    client.force_login(panel_member)
    page = client.get(reverse("panels:referral_detail", args=[referral.pk])).text
    assert "Record the panel" not in page and "Declare a conflict" in page
    response = client.post(
        reverse("panels:referral_decide", args=[referral.pk]),
        {"outcome": "approved", "reasons": "x"},
    )
    assert response.status_code == 403
    assert not PanelDecision.objects.exists()


@pytest.fixture
def waiting(submitted_a, person_a, worker_a):
    """person_a's plan referred and waiting for a meeting (on no agenda yet)."""
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours"),
    )
    return plan.referrals.get()


def test_the_arrange_page_permission_matrix(client, panel_chair, panel_member, worker_a):
    url = reverse("panels:meeting_create")
    data = {
        **date_parts("date", "2027-01-01"),
        "time": "14:30",
        "place": "Room 4, County Hall",
        "chair": panel_chair.pk,
        "members": [panel_member.pk],
    }
    response = client.post(url, data)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    for refused in (worker_a, panel_member):
        client.force_login(refused)
        assert client.post(url, data).status_code == 403
    client.force_login(panel_chair)
    assert client.get(url).status_code == 405
    assert client.post(reverse("panels:meeting_list"), data).status_code == 405
    page = client.post(url, {"chair": panel_chair.pk}).text  # no date: the form again
    assert "Arrange the meeting" in page and not PanelMeeting.objects.exists()
    response = client.post(url, data)
    meeting = PanelMeeting.objects.get()
    assert response.url == reverse("panels:meeting_detail", args=[meeting.pk])
    assert (meeting.chair, list(meeting.members.all())) == (panel_chair, [panel_member])
    assert (meeting.time, meeting.place) == (datetime.time(14, 30), "Room 4, County Hall")


def test_the_meeting_page_permission_matrix(client, meeting, panel_member, worker_a):
    url = reverse("panels:meeting_detail", args=[meeting.pk])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(make_user("other.member", Role.PANEL_MEMBER))
    assert client.get(url).status_code == 404  # not their meeting
    client.force_login(worker_a)
    assert client.get(url).status_code == 403
    client.force_login(panel_member)
    page = client.get(url).text
    assert "Nothing on the agenda yet." in page and "Add a referral" not in page
    assert client.post(url, {"referral": 1}).status_code == 405


def test_the_agenda_page_permission_matrix(
    client, meeting, waiting, panel_member, panel_chair, worker_a
):
    url = reverse("panels:meeting_schedule", args=[meeting.pk])
    data = {"referral": waiting.pk}
    response = client.post(url, data)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(make_user("other.chair", Role.PANEL_CHAIR))
    assert client.post(url, data).status_code == 404  # not their meeting
    client.force_login(worker_a)
    assert client.post(url, data).status_code == 403
    client.force_login(panel_member)
    assert client.post(url, data).status_code == 403  # sees it, does not set the agenda
    waiting.refresh_from_db()
    assert waiting.meeting_id is None
    client.force_login(panel_chair)
    assert client.get(url).status_code == 405
    page = client.post(url, {"referral": "x"}, follow=True).text
    assert CHOOSE_REFERRAL in page
    detail = reverse("panels:meeting_detail", args=[meeting.pk])
    assert f'action="{url}"' in client.get(detail).text
    response = client.post(url, data)
    assert response.url == detail
    waiting.refresh_from_db()
    assert (waiting.meeting_id, waiting.is_waiting) == (meeting.pk, True)


def test_only_chairs_set_the_agenda_and_only_for_waiting_referrals(
    meeting, waiting, panel_member, panel_chair, worker_a
):
    with pytest.raises(PermissionDenied, match=ONLY_CHAIRS_SCHEDULE):
        referral_schedule(actor=panel_member, referral=waiting, meeting=meeting)
    referral_withdraw(plan=waiting.plan, reason="The budget changed", actor=worker_a)
    with pytest.raises(ValidationError, match=ALREADY_DECIDED_SCHEDULE):
        referral_schedule(actor=panel_chair, referral=waiting, meeting=meeting)
