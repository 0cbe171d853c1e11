"""The panel's e-mails (issue 13, nothing waiting unseen): a referral put on a meeting's agenda
tells the meeting's chair and members; the panel's decision tells the worker who submitted the
plan. Never the person who acted, nor anyone who turned e-mails off; no personal data."""

from __future__ import annotations

import pytest

from allocations.models import SupportPlan
from allocations.notifications import PLAN_AGREED, PLAN_RETURNED
from allocations.services.plans import plan_submit
from assessments.roles import Role
from panels.notifications import REFERRAL_AWAITS_MEETING, REFERRAL_ON_AGENDA
from panels.services import meeting_substitute_add, referral_move, referral_schedule
from tests.factories import make_plan, make_user
from tests.mail import SITE, assert_no_personal_data, opted_out, sent_to, with_email
from tests.panels.helpers import decide

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def addresses(worker_a, manager_a, panel_chair, panel_member, panel_member2):
    """Everyone has an address; panel_member2 has turned e-mails off."""
    with_email(worker_a, manager_a, panel_chair, panel_member)
    opted_out(panel_member2)


@pytest.fixture
def at_panel(submitted_a, person_a, worker_a):
    plan = make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours")
    plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == SupportPlan.Status.AT_PANEL
    return plan.referrals.get()


def test_a_plan_referred_to_the_panel_emails_the_chairs_who_arrange_meetings(
    addresses,
    submitted_a,
    person_a,
    worker_a,
    panel_chair,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    opted_out(make_user("quiet.chair", Role.PANEL_CHAIR))
    plan = make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours")
    with django_capture_on_commit_callbacks(execute=True):
        plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == SupportPlan.Status.AT_PANEL
    # The chair (who puts referrals on agendas); not the members, nor a chair with e-mails off.
    assert sent_to(mailoutbox) == [panel_chair.email]
    subject, reason = REFERRAL_AWAITS_MEETING
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert "/panel/" in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, person_a, worker_a, panel_chair)


def test_a_referral_on_the_agenda_emails_the_meetings_chair_and_members(
    addresses,
    at_panel,
    meeting,
    person_a,
    worker_a,
    panel_chair,
    panel_member,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    other_chair = make_user("other.chair", Role.PANEL_CHAIR, email="chair2@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        referral_schedule(actor=other_chair, referral=at_panel, meeting=meeting)
    # The meeting's chair and member; not the chair who set the agenda, nor panel_member2
    # (e-mails off), nor the worker.
    assert sent_to(mailoutbox) == sorted([panel_chair.email, panel_member.email])
    subject, reason = REFERRAL_ON_AGENDA
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert f"/panel/meetings/{meeting.pk}/" in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, person_a, worker_a, panel_chair, panel_member)


def test_the_chair_who_sets_their_own_agenda_is_not_emailed(
    addresses,
    at_panel,
    meeting,
    panel_chair,
    panel_member,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        referral_schedule(actor=panel_chair, referral=at_panel, meeting=meeting)
    assert sent_to(mailoutbox) == [panel_member.email]


def test_a_referral_moved_to_another_meeting_emails_that_meetings_panel(
    addresses,
    at_panel,
    meeting,
    next_meeting,
    panel_chair,
    panel_member,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    substitute = make_user("substitute", Role.PANEL_MEMBER, email="sub@example.org")
    meeting_substitute_add(
        actor=panel_chair, meeting=next_meeting, member=substitute, reason="Apologies sent"
    )
    referral = referral_schedule(actor=panel_chair, referral=at_panel, meeting=meeting)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        referral_move(
            actor=panel_chair, referral=referral, meeting=next_meeting, reason="Not quorate"
        )
    assert sent_to(mailoutbox) == sorted([panel_member.email, substitute.email])
    assert f"/panel/meetings/{next_meeting.pk}/" in mailoutbox[0].body


@pytest.mark.parametrize(
    ("outcome", "message"),
    [("approved", PLAN_AGREED), ("declined", PLAN_RETURNED), ("deferred", PLAN_RETURNED)],
)
def test_the_panels_decision_emails_the_worker_who_submitted_the_plan(
    outcome,
    message,
    addresses,
    at_panel,
    meeting,
    person_a,
    worker_a,
    panel_chair,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    referral = referral_schedule(actor=panel_chair, referral=at_panel, meeting=meeting)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        decide(referral, panel_chair, outcome, information_needed="The OT's report")
    # The worker only: not the chair who decided, not the members.
    assert sent_to(mailoutbox) == [worker_a.email]
    subject, reason = message
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert "OT's report" not in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, person_a, worker_a, panel_chair)
