"""Nothing waiting unseen (issue 13): an e-mail for each kind of waiting item, to the right
people only (not the person who acted, not whoever turned e-mails off, not another team),
with no personal data in it; and each person's own e-mail settings page."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget, SupportPlan
from allocations.notifications import (
    LOWER_AGREED_TO_DECIDE,
    LOWER_BUDGET_TO_DECIDE,
    PLAN_AGREED,
    PLAN_RETURNED,
    PLAN_TO_AUTHORISE,
    POLICY_TO_APPROVE,
    REVIEWS_DUE,
)
from allocations.services.budgets import budget_recalculate
from allocations.services.plans import plan_authorise, plan_return, plan_submit
from allocations.services.policies import policy_create_draft
from assessments.models import SentNotification, User
from assessments.notifications import notifications_paused, notify
from assessments.roles import Role
from assessments.services.accounts import (
    EMAILS_OFF,
    EMAILS_ON,
    OWN_SETTINGS_ONLY,
    user_email_notifications_set,
)
from assessments.services.people import person_update
from assessments.services.questionnaires import QUESTIONNAIRE_TO_PUBLISH, questionnaire_import
from assessments.views.accounts import SAVED_OFF, SAVED_ON
from tests.factories import (
    SPEC_POLICY,
    make_budgeted_person,
    make_plan,
    make_user,
    questionnaire_data,
)
from tests.mail import SITE, assert_no_personal_data, opted_out, sent_to, with_email

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.SERVICE_NAME = "Personal budgets"


@pytest.fixture
def manager_a2(team_a):
    """A second team manager of team A, with an address and e-mails on."""
    user = make_user("manager.a2", Role.TEAM_MANAGER, team_a, last_name="Lindqvist")
    with_email(user)
    return user


@pytest.fixture
def manager_a3(team_a):
    """A third team manager of team A, who has turned e-mails off."""
    return opted_out(make_user("manager.a3", Role.TEAM_MANAGER, team_a))


# --- the core ------------------------------------------------------------------------------------


def test_notify_sends_after_commit_to_those_who_should_hear_only(
    worker_a, worker_b, manager_a, manager_b, mailoutbox, django_capture_on_commit_callbacks
):
    with_email(worker_a, worker_b, manager_a)
    opted_out(manager_b)
    inactive = make_user("gone", Role.SOCIAL_WORKER, is_active=False, email="gone@example.org")
    no_address = make_user("no.address", Role.SOCIAL_WORKER)
    everyone = [worker_a, worker_b, manager_a, manager_b, inactive, no_address, worker_a]
    with django_capture_on_commit_callbacks(execute=True):
        chosen = notify(
            everyone, subject="Something", link_path="/x/", reason="A thing waits.", actor=worker_b
        )
        assert mailoutbox == []  # nothing before the commit
    assert chosen == [worker_a, manager_a]
    # One message each (nobody sees who else was told), from the service's address.
    assert [m.to for m in mailoutbox] == [[worker_a.email], [manager_a.email]]
    message = mailoutbox[0]
    assert message.subject == "Personal budgets: Something"
    assert "A thing waits." in message.body and f"Open it here: {SITE}/x/" in message.body
    assert f"{SITE}{reverse('email_settings')}" in message.body


def test_nothing_is_sent_while_paused(worker_a, mailoutbox, django_capture_on_commit_callbacks):
    with_email(worker_a)
    with django_capture_on_commit_callbacks(execute=True), notifications_paused():
        assert notify([worker_a], subject="S", link_path="/", reason="R") == []
    assert mailoutbox == []


def test_a_mail_server_failure_is_logged_not_raised(
    worker_a, settings, caplog, django_capture_on_commit_callbacks
):
    with_email(worker_a)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    with django_capture_on_commit_callbacks(execute=True):
        notify([worker_a], subject="S", link_path="/", reason="R")
    assert "Could not send 1 notification e-mail(s)" in caplog.text


# --- a plan to authorise, and the decision on it -------------------------------------------


def test_a_plan_submitted_for_authorisation_emails_the_teams_other_managers(
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    manager_a2,
    manager_a3,
    manager_b,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with_email(worker_a, manager_a, manager_b)
    plan = make_plan(person_a, worker_a, weekly="120.00")
    with django_capture_on_commit_callbacks(execute=True):
        plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == SupportPlan.Status.AWAITING_AUTHORISATION
    # Not the worker who submitted it, nor a manager who turned e-mails off, nor team B's.
    assert sent_to(mailoutbox) == sorted([manager_a.email, manager_a2.email])
    subject, reason = PLAN_TO_AUTHORISE
    assert subject in mailoutbox[0].subject and reason in mailoutbox[0].body
    assert f"{SITE}{reverse('allocations:plan_detail', args=[plan.pk])}" in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, person_a, worker_a, manager_a, manager_a2)


def test_a_manager_who_wrote_part_of_the_plan_is_not_asked_to_authorise_it(
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    manager_a2,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with_email(manager_a)
    plan = make_plan(person_a, manager_a, weekly="120.00")  # written by manager_a
    with django_capture_on_commit_callbacks(execute=True):
        plan_submit(actor=worker_a, plan=plan)
    assert sent_to(mailoutbox) == [manager_a2.email]


def test_a_plan_going_to_the_panel_asks_no_manager_to_authorise_it(
    submitted_a, person_a, worker_a, manager_a2, mailoutbox, django_capture_on_commit_callbacks
):
    plan = make_plan(person_a, worker_a, weekly="140.00", difference_reason="More hours")
    with django_capture_on_commit_callbacks(execute=True):
        plan = plan_submit(actor=worker_a, plan=plan)
    assert plan.status == SupportPlan.Status.AT_PANEL
    assert mailoutbox == []


@pytest.mark.parametrize("agreed", [True, False])
def test_a_managers_decision_emails_the_worker_who_submitted_the_plan(
    agreed,
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    manager_a2,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with_email(worker_a, manager_a)
    plan = plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120.00"))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        if agreed:
            plan_authorise(actor=manager_a, plan=plan)
        else:
            plan_return(actor=manager_a, plan=plan, comments="Add the evening visits.")
    assert sent_to(mailoutbox) == [worker_a.email]  # not the deciding manager
    subject, reason = PLAN_AGREED if agreed else PLAN_RETURNED
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert "evening visits" not in mailoutbox[0].body  # the comments stay on the page
    assert_no_personal_data(mailoutbox, person_a, worker_a, manager_a)


def test_an_opted_out_worker_hears_nothing_of_the_decision(
    submitted_a, person_a, worker_a, manager_a, mailoutbox, django_capture_on_commit_callbacks
):
    opted_out(worker_a)
    plan = plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120.00"))
    with django_capture_on_commit_callbacks(execute=True):
        plan_authorise(actor=manager_a, plan=plan)
    assert mailoutbox == []


# --- a lower figure to decide ------------------------------------------------------------------


def test_a_lower_indicative_budget_emails_the_teams_managers(
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    manager_a2,
    manager_a3,
    manager_b,
    senior_manager,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with_email(worker_a, manager_a, manager_b, senior_manager)
    person_update(actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("90")})
    with django_capture_on_commit_callbacks(execute=True):
        lower = budget_recalculate(actor=manager_a, person=person_a, reason="Cost corrected")
    assert lower.status == IndicativeBudget.Status.AWAITING_DECISION
    # manager_a recalculated it; manager_a3 turned e-mails off; the rest are not team A's
    # managers (workers do not decide, team B's manager sees other people).
    assert sent_to(mailoutbox) == [manager_a2.email]
    subject, reason = LOWER_BUDGET_TO_DECIDE
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert f"{SITE}{reverse('allocations:budget_detail', args=[lower.pk])}" in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, person_a, manager_a, manager_a2)


def test_a_higher_figure_asks_nobody(
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    manager_a2,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    person_update(
        actor=worker_a, person=person_a, data={"existing_weekly_cost_gbp": Decimal("150")}
    )
    with django_capture_on_commit_callbacks(execute=True):
        higher = budget_recalculate(actor=manager_a, person=person_a, reason="Cost rose")
    assert higher.status == IndicativeBudget.Status.CURRENT
    assert mailoutbox == []


def test_a_lower_agreed_budget_emails_the_teams_other_managers(
    submitted_a,
    person_a,
    worker_a,
    manager_a,
    manager_a2,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with_email(worker_a, manager_a)
    plan_authorise(
        actor=manager_a,
        plan=plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120")),
    )
    plan = plan_submit(
        actor=worker_a,
        plan=make_plan(person_a, worker_a, weekly="100", difference_reason="Fewer hours suit."),
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lower = plan_authorise(actor=manager_a, plan=plan)
    assert lower.status == AgreedBudget.Status.AWAITING_DECISION
    by_address = {m.to[0]: m for m in mailoutbox}
    assert sorted(by_address) == [manager_a2.email, worker_a.email]
    subject, reason = LOWER_AGREED_TO_DECIDE
    assert reason in by_address[manager_a2.email].body
    assert (
        reverse("allocations:agreed_decide", args=[lower.pk]) in by_address[manager_a2.email].body
    )
    assert PLAN_AGREED[1] in by_address[worker_a.email].body
    assert_no_personal_data(mailoutbox, person_a, manager_a, worker_a)


# --- a draft to approve --------------------------------------------------------------------------


def test_a_draft_policy_emails_those_who_may_approve_it_but_not_its_author(
    ras_admin, senior_manager, worker_a, mailoutbox, django_capture_on_commit_callbacks
):
    with_email(ras_admin, senior_manager, worker_a)
    other_admin = opted_out(make_user("ras.admin2", Role.RAS_ADMINISTRATOR))
    third_admin = make_user("ras.admin3", Role.RAS_ADMINISTRATOR, email="ras3@example.org")
    data = {**SPEC_POLICY, "effective_from": timezone.localdate()}
    with django_capture_on_commit_callbacks(execute=True):
        policy = policy_create_draft(actor=ras_admin, data=data)
    assert sent_to(mailoutbox) == sorted([senior_manager.email, third_admin.email])
    assert other_admin.email not in sent_to(mailoutbox)
    subject, reason = POLICY_TO_APPROVE
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert reverse("allocations:policy_detail", args=[policy.pk]) in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, ras_admin, senior_manager)


def test_a_draft_questionnaire_emails_those_who_may_publish_it_but_not_its_author(
    ras_admin, senior_manager, auditor, mailoutbox, django_capture_on_commit_callbacks
):
    with_email(ras_admin, senior_manager, auditor)
    with django_capture_on_commit_callbacks(execute=True):
        version = questionnaire_import(actor=ras_admin, data=questionnaire_data())
    assert sent_to(mailoutbox) == [senior_manager.email]
    subject, reason = QUESTIONNAIRE_TO_PUBLISH
    assert mailoutbox[0].subject.endswith(subject) and reason in mailoutbox[0].body
    assert reverse("assessments:questionnaire_detail", args=[version.pk]) in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, ras_admin, senior_manager)


# --- reviews coming due ------------------------------------------------------------------------


def _at(day: datetime.date):
    return time_machine.travel(
        timezone.make_aware(datetime.datetime.combine(day, datetime.time(10))), tick=False
    )


AGREED_ON = datetime.date(2031, 1, 31)


def _agree(person, worker, manager, on: datetime.date) -> AgreedBudget:
    with _at(on):
        plan = plan_submit(actor=worker, plan=make_plan(person, worker, weekly="120.00"))
        return plan_authorise(actor=manager, plan=plan)


def test_reviews_coming_due_are_announced_to_the_team_once_each(
    submitted_a,
    person_a,
    worker_a,
    worker_b,
    manager_a,
    manager_a3,
    manager_b,
    panel_chair,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with_email(worker_a, worker_b, manager_a, manager_b, panel_chair)
    first = _agree(person_a, worker_a, manager_a, AGREED_ON)  # due 31 Jan 2032
    early = make_budgeted_person(actor=worker_a, family_name="Early")
    _agree(early, worker_a, manager_a, datetime.date(2031, 1, 10))  # due 10 Jan 2032
    late = make_budgeted_person(actor=worker_a, family_name="Late")
    _agree(late, worker_a, manager_a, datetime.date(2031, 3, 1))  # due 1 Mar 2032
    mailoutbox.clear()

    def run(day: datetime.date) -> str:
        mailoutbox.clear()
        with _at(day), django_capture_on_commit_callbacks(execute=True):
            call_command("send_review_reminders", stdout=(out := _Out()))
        return out.text

    # 20 Jan 2032: Early is overdue, person_a due in 11 days; Late is 41 days away.
    assert "Reviews newly due: 2 in 1 team(s)." in run(datetime.date(2032, 1, 20))
    # Team A's worker and manager (not the opted-out manager, not team B, not the panel).
    assert sent_to(mailoutbox) == sorted([manager_a.email, worker_a.email])
    subject, reason = REVIEWS_DUE
    assert mailoutbox[0].subject.endswith(subject)
    assert reason.format(count=2, days=28) in mailoutbox[0].body
    assert_no_personal_data(mailoutbox, person_a, early, late, worker_a, manager_a)

    # Run again the same day, or the next: nothing new, nothing sent twice.
    assert "Reviews newly due: 0 in 0 team(s)." in run(datetime.date(2032, 1, 20))
    assert mailoutbox == []
    run(datetime.date(2032, 1, 21))
    assert mailoutbox == []
    # 2 Feb 2032: Late comes within 28 days, and only Late is announced.
    run(datetime.date(2032, 2, 2))
    assert reason.format(count=1, days=28) in mailoutbox[0].body
    assert SentNotification.objects.filter(key__startswith=f"review_due:{first.pk}:").count() == 1


class _Out:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


# --- the e-mail settings page ----------------------------------------------------------------


def test_the_email_settings_page_needs_a_login(client):
    url = reverse("email_settings")
    assert url == "/accounts/e-mail/"
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.post(url, {}).status_code == 302


def test_each_user_turns_their_own_emails_off_and_on(client, worker_a, worker_b):
    with_email(worker_a)
    client.force_login(worker_a)
    url = reverse("email_settings")
    page = client.get(url)
    assert page.status_code == 200
    assert "E-mail settings" in page.text and worker_a.email in page.text
    assert 'name="email_notifications"' in page.text and "checked" in page.text

    response = client.post(url, {}, follow=True)  # the box unticked
    assert SAVED_OFF in response.text
    worker_a.refresh_from_db()
    worker_b.refresh_from_db()
    assert worker_a.email_notifications is False
    assert worker_b.email_notifications is True  # nobody else's changes
    row = worker_a.history.latest()
    assert (row.history_user, row.history_change_reason) == (worker_a, EMAILS_OFF)

    response = client.post(url, {"email_notifications": "on"}, follow=True)
    assert SAVED_ON in response.text
    worker_a.refresh_from_db()
    assert worker_a.email_notifications is True
    assert worker_a.history.latest().history_change_reason == EMAILS_ON


def test_no_one_changes_someone_elses_setting(worker_a, manager_a):
    with pytest.raises(PermissionDenied, match=OWN_SETTINGS_ONLY):
        user_email_notifications_set(actor=manager_a, user=worker_a, enabled=False)
    worker_a.refresh_from_db()
    assert worker_a.email_notifications is True


def test_a_user_without_an_address_is_told_so(client, worker_a):
    client.force_login(worker_a)
    assert "We have no e-mail address for you" in client.get(reverse("email_settings")).text


def test_the_password_page_links_to_the_email_settings(client, worker_a):
    client.force_login(worker_a)
    assert reverse("email_settings") in client.get(reverse("password_change")).text


# --- the demo --------------------------------------------------------------------------------


def test_seeding_the_demo_emails_nobody_and_one_demo_user_has_emails_off(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", quiet_logins=True, stdout=_Out())
    assert mailoutbox == []
    demo = User.objects.exclude(is_superuser=True)
    assert demo.exists() and not demo.filter(email="").exists()
    assert list(demo.filter(email_notifications=False).values_list("username", flat=True)) == [
        "panel.member2"
    ]
    # Without the pause the demo's work would have e-mailed people: the pause is what kept it
    # quiet (plans were submitted for authorisation, for example).
    assert SupportPlan.objects.exclude(submitted_at=None).exists()
