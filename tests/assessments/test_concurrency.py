"""Two people saving the same record at the same moment, for real: two threads, each with its
own PostgreSQL connection (hence `transaction=True`: the rows must be committed for the other
connection to see them). Nobody's save is lost silently and nobody sees an error page: one
save wins and the other is told who changed the record, and when."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, Person
from assessments.services.assessments import assessment_save_section
from assessments.services.concurrency import ConcurrentEdit
from assessments.services.people import person_update

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(*targets) -> None:
    """Start each target in its own thread at the same moment; wait for all of them."""
    barrier = threading.Barrier(len(targets))

    def run(target):
        try:
            barrier.wait(timeout=10)
            target()
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a save never finished"


def test_two_people_saving_the_same_person_at_once_one_is_told(person_a, worker_a, manager_a):
    outcomes: dict[str, object] = {}

    def save(user, town):
        def attempt():
            try:
                person_update(actor=user, person=person_a, data={"town": town}, lock_version=1)
                outcomes[user.username] = "saved"
            except ConcurrentEdit as refusal:
                outcomes[user.username] = refusal.message
            except Exception as error:  # noqa: BLE001 - the test reports any other outcome
                outcomes[user.username] = error

        return attempt

    _run_together(save(worker_a, "Workerton"), save(manager_a, "Managerton"))

    saved = [name for name, outcome in outcomes.items() if outcome == "saved"]
    assert len(saved) == 1, outcomes
    (loser,) = set(outcomes) - set(saved)
    winner = {"worker.a": "Worker.A", "manager.a": "Manager.A"}[saved[0]]
    assert str(outcomes[loser]).startswith(f"{winner} changed this record at "), outcomes
    person = Person.objects.get(pk=person_a.pk)
    assert person.town == {"worker.a": "Workerton", "manager.a": "Managerton"}[saved[0]]
    assert person.lock_version == 2
    assert person.history.count() == 2  # created, and the one save that won


def _waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_save_waiting_for_the_lock_while_a_colleague_saves_gets_the_conflict(
    draft_a, worker_a, manager_a
):
    """The colleague holds the row lock and changes who last updated the draft; the worker's
    save, based on the same lock_version, waits for the lock. When it gets it, it must see
    the colleague's change and refuse with the conflict message (not DoesNotExist)."""
    section = draft_a.questionnaire.sections.first()
    answers = {q.pk: (q.options.first().pk, "") for q in section.questions.all()}
    stale = draft_a.lock_version
    colleague_saving = threading.Event()
    outcome: list[object] = []

    def colleague():
        with transaction.atomic():
            row = Assessment.objects.select_for_update().get(pk=draft_a.pk)
            row.lock_version += 1
            row.updated_by, row.updated_at = manager_a, timezone.now()
            row._history_user = manager_a
            row.save()
            colleague_saving.set()
            deadline = time.monotonic() + 10
            while not _waiting_for_a_lock() and time.monotonic() < deadline:
                time.sleep(0.02)  # commit only once the worker's save waits for the lock

    def worker():
        assert colleague_saving.wait(timeout=10)
        try:
            assessment_save_section(
                actor=worker_a,
                assessment=draft_a,
                section=section,
                answers=answers,
                lock_version=stale,
            )
            outcome.append("saved")
        except ConcurrentEdit as refusal:
            outcome.append(refusal.message)
        except Exception as error:  # noqa: BLE001 - the test reports any other outcome
            outcome.append(error)

    _run_together(colleague, worker)

    assert len(outcome) == 1 and isinstance(outcome[0], str), outcome
    assert outcome[0].startswith("Manager.A changed this assessment at "), outcome
    assert not draft_a.answers.exists()


ROUNDS = 20


def test_two_users_saving_one_section_at_once_never_get_an_error_page(draft_a, worker_a, manager_a):
    """20 rounds of two logged-in users saving the same section page from the same
    lock_version: each round exactly one save and one conflict message, never a 500."""
    section = draft_a.questionnaire.sections.first()
    questions = list(section.questions.prefetch_related("options"))
    url = reverse("assessments:assessment_step", args=[draft_a.pk, 1])
    clients = {}
    for user in (worker_a, manager_a):
        clients[user.username] = Client()
        clients[user.username].force_login(user)

    for round_number in range(ROUNDS):
        lock_version = Assessment.objects.get(pk=draft_a.pk).lock_version
        outcomes: dict[str, object] = {}

        def post(
            username, option_index, lock_version=lock_version, outcomes=outcomes, n=round_number
        ):
            def attempt():
                data = {"lock_version": str(lock_version), "action": "next"}
                for question in questions:
                    option = list(question.options.all())[option_index]
                    data[f"q_{question.pk}"] = str(option.pk)
                    data[f"evidence_{question.pk}"] = f"Round {n} by {username}"
                try:
                    response = clients[username].post(url, data)
                except Exception as error:  # noqa: BLE001 - Assessment.DoesNotExist was one
                    outcomes[username] = error
                    return
                if response.status_code == 302:
                    outcomes[username] = "saved"
                elif response.status_code == 200 and "changed this assessment at" in (
                    response.text
                ):
                    outcomes[username] = "conflict"
                else:
                    outcomes[username] = response.status_code

            return attempt

        # Alternate who picks which answer, so each winner changes the page for the other.
        first, second = (0, 2) if round_number % 2 else (2, 0)
        _run_together(post("worker.a", first), post("manager.a", second))
        assert sorted(map(str, outcomes.values())) == ["conflict", "saved"], (
            round_number,
            outcomes,
        )
    assessment = Assessment.objects.get(pk=draft_a.pk)
    assert assessment.lock_version == draft_a.lock_version + ROUNDS
