"""Two clicks make one letter: the same figures give one live letter, even under concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from allocations.models import Letter
from allocations.services import letters
from allocations.services.letters import letter_already_issued_message, letter_issue

THREADS = 8


def _in_threads(work) -> list:
    """Run work(index) in THREADS threads started together; each closes its own connection."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as problem:  # noqa: BLE001 - reported by the test
            results[index] = problem
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db
def test_second_issue_returns_the_first_letter(submitted_a, person_a, worker_a, manager_a):
    first, reused_first = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    again, reused_again = letter_issue(actor=manager_a, person=person_a, kind="indicative")
    assert (reused_first, reused_again) == (False, True)
    assert again.pk == first.pk and again.issued_by == worker_a
    assert Letter.objects.count() == 1


@pytest.mark.django_db
def test_issue_history_row_names_who_issued_it(submitted_a, person_a, worker_a):
    letter, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    (row,) = letter.history.all()
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "+",
        worker_a,
        "issued",
    )


@pytest.mark.django_db
def test_a_lost_race_returns_the_letter_the_other_request_stored(
    submitted_a, person_a, worker_a, manager_a, monkeypatch
):
    """The check before the PDF is made sees nothing (the other request has not committed);
    the INSERT then meets letter_once_per_figures and the stored letter is returned."""
    first, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    real = letters._live_letter
    calls = []

    def not_yet_committed(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(letters, "_live_letter", not_yet_committed)
    letter, reused = letter_issue(actor=manager_a, person=person_a, kind="indicative")
    assert (letter.pk, reused, len(calls)) == (first.pk, True, 2)
    assert Letter.objects.count() == 1
    assert Letter.objects.get().history.count() == 1  # the refused insert left no history row


@pytest.mark.django_db
def test_two_clicks_on_the_page_make_one_letter_and_say_so(client, submitted_a, person_a, worker_a):
    client.force_login(worker_a)
    url = reverse("allocations:letter_issue", args=[person_a.pk])
    first = client.post(url, {"kind": "indicative"}, follow=True)
    assert [m.message for m in first.context["messages"]] == ["Indicative budget letter issued."]
    second = client.post(url, {"kind": "indicative"}, follow=True)
    letter = Letter.objects.get()
    message = letter_already_issued_message(letter)
    assert [m.message for m in second.context["messages"]] == [message]
    assert escape(message) in second.text
    assert message.startswith("Indicative budget letter already issued on ")
    assert f"by {worker_a}: the same letter is shown." in message
    page = client.get(reverse("assessments:person_detail", args=[person_a.pk])).text
    assert page.count("Indicative budget letter</a>") == 1


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_issue_posts_make_one_letter(submitted_a, person_a, worker_a):
    url = reverse("allocations:letter_issue", args=[person_a.pk])
    clients = []
    for _ in range(THREADS):
        browser = Client()
        browser.force_login(worker_a)
        clients.append(browser)

    results = _in_threads(lambda n: clients[n].post(url, {"kind": "indicative"}).status_code)

    assert results == [302] * THREADS
    assert Letter.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_issues_through_the_service_return_the_same_letter(
    submitted_a, person_a, worker_a
):
    results = _in_threads(
        lambda n: letter_issue(actor=worker_a, person=person_a, kind="indicative")
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({letter.pk for letter, _ in results}) == 1
    assert sorted(reused for _, reused in results) == [False] + [True] * (THREADS - 1)
    letter = Letter.objects.get()
    assert [(h.history_type, h.history_user) for h in letter.history.all()] == [("+", worker_a)]
