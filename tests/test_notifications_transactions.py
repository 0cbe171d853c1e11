"""E-mails about waiting work follow the transaction, for real (two PostgreSQL connections,
hence `transaction=True`): a change rolled back sends nothing, and two review-reminder runs at
the same moment announce each review once."""

from __future__ import annotations

import datetime
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from allocations.notifications import review_reminders_send
from allocations.services.plans import plan_authorise, plan_submit
from assessments.models import SentNotification
from tests.factories import make_plan
from tests.mail import sent_to, with_email

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):
    pass


def test_a_change_rolled_back_sends_nothing(submitted_a, person_a, worker_a, manager_a, mailoutbox):
    with_email(manager_a)
    plan = make_plan(person_a, worker_a, weekly="120.00")
    with pytest.raises(Refused), transaction.atomic():
        plan_submit(actor=worker_a, plan=plan)
        raise Refused  # something later in the same transaction fails
    assert mailoutbox == []
    plan_submit(actor=worker_a, plan=plan)  # committed this time
    assert sent_to(mailoutbox) == [manager_a.email]


def test_two_reminder_runs_at_once_announce_each_review_once(
    submitted_a, person_a, worker_a, manager_a, mailoutbox
):
    with_email(worker_a, manager_a)
    agreed_on = timezone.make_aware(datetime.datetime(2031, 1, 31, 10))
    with time_machine.travel(agreed_on, tick=False):
        plan = plan_submit(actor=worker_a, plan=make_plan(person_a, worker_a, weekly="120.00"))
        agreed = plan_authorise(actor=manager_a, plan=plan)
    mailoutbox.clear()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(review_reminders_send(today=datetime.date(2032, 1, 20)))
        except Exception as error:  # noqa: BLE001 - the test reports any other outcome
            results.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a run never finished"
    team = person_a.team_id
    assert sorted(results, key=len) == [{}, {team: 1}], results
    assert sent_to(mailoutbox) == sorted([manager_a.email, worker_a.email])
    assert SentNotification.objects.get().key == f"review_due:{agreed.pk}:2032-01-31"
