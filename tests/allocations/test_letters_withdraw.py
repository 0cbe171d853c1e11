"""Withdrawing a letter: the one change a letter allows, once, with a reason and history;
PostgreSQL refuses any other change and any deletion, however it is attempted."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from allocations.models import Letter
from allocations.services.letters import (
    ALREADY_WITHDRAWN,
    WITHDRAW_REASON_REQUIRED,
    LetterAlreadyWithdrawn,
    letter_issue,
    letter_withdraw,
)

pytestmark = pytest.mark.django_db

REASON = "Sent to the wrong address"


@pytest.fixture
def letter(submitted_a, person_a, worker_a):
    issued, _ = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    return issued


def test_withdrawal_records_who_when_why_and_keeps_the_pdf(letter, worker_a, manager_a):
    pdf = letter.read_pdf()
    withdrawn = letter_withdraw(actor=manager_a, letter=letter, reason=f"  {REASON} ")
    stored = Letter.objects.get()
    assert (stored.withdrawn_by, stored.withdrawn_reason) == (manager_a, REASON)
    assert stored.withdrawn_at is not None and stored.withdrawn_at == withdrawn.withdrawn_at
    assert stored.read_pdf() == pdf and stored.issued_by == worker_a


def test_history_rows_name_who_issued_and_who_withdrew(letter, worker_a, manager_a):
    letter_withdraw(actor=manager_a, letter=letter, reason=REASON)
    rows = list(Letter.objects.get().history.order_by("history_id"))
    assert [
        (h.history_type, h.history_user, h.history_change_reason, h.withdrawn_reason) for h in rows
    ] == [("+", worker_a, "issued", ""), ("~", manager_a, "withdrawn", REASON)]
    assert rows[1].withdrawn_by == manager_a and rows[0].withdrawn_at is None


def test_the_same_figures_can_be_issued_again_after_withdrawal(
    letter, person_a, worker_a, senior_manager
):
    letter_withdraw(actor=senior_manager, letter=letter, reason=REASON)
    again, reused = letter_issue(actor=worker_a, person=person_a, kind="indicative")
    assert not reused and again.pk != letter.pk
    assert again.figures_sha256 == letter.figures_sha256
    assert Letter.objects.filter(withdrawn_at__isnull=True).get() == again
    # ... and issuing once more returns the new live letter, not the withdrawn one.
    assert letter_issue(actor=worker_a, person=person_a, kind="indicative") == (again, True)


def test_a_reason_is_required(letter, manager_a):
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as refusal:
            letter_withdraw(actor=manager_a, letter=letter, reason=blank)
        assert refusal.value.message_dict == {"reason": [WITHDRAW_REASON_REQUIRED]}
    assert Letter.objects.get().withdrawn_at is None


def test_a_letter_is_withdrawn_once(letter, manager_a, senior_manager):
    letter_withdraw(actor=manager_a, letter=letter, reason=REASON)
    with pytest.raises(LetterAlreadyWithdrawn, match="already withdrawn on .* by Manager"):
        letter_withdraw(actor=senior_manager, letter=letter, reason="Again")
    stored = Letter.objects.get()
    assert (stored.withdrawn_by, stored.withdrawn_reason) == (manager_a, REASON)
    assert stored.history.count() == 2


def test_who_may_withdraw(letter, worker_a, manager_a, senior_manager, auditor, ras_admin):
    assert manager_a.has_perm("allocations.withdraw_letter")
    assert senior_manager.has_perm("allocations.withdraw_letter")
    for user in (worker_a, auditor, ras_admin):
        assert not user.has_perm("allocations.withdraw_letter")
    with pytest.raises(PermissionDenied):
        letter_withdraw(actor=worker_a, letter=letter, reason=REASON)
    assert Letter.objects.get().withdrawn_at is None


def test_withdraw_view_permission_matrix(client, letter, person_a, worker_a, worker_b, manager_a):
    url = reverse("allocations:letter_withdraw", args=[letter.pk])
    assert client.post(url, {"reason": REASON}).status_code == 302  # to the log-in page
    client.force_login(worker_b)  # another team
    assert client.post(url, {"reason": REASON}).status_code == 404
    client.force_login(worker_a)  # sees the letter, may not withdraw it
    assert client.post(url, {"reason": REASON}).status_code == 403
    client.force_login(manager_a)
    assert client.get(url).status_code == 405
    response = client.post(url, {"reason": REASON})
    assert response.url == reverse("assessments:person_detail", args=[person_a.pk])
    assert Letter.objects.get().withdrawn_by == manager_a


def test_person_page_offers_withdrawal_and_shows_it(client, letter, person_a, worker_a, manager_a):
    page_url = reverse("assessments:person_detail", args=[person_a.pk])
    url = reverse("allocations:letter_withdraw", args=[letter.pk])
    client.force_login(worker_a)
    assert url not in client.get(page_url).text  # a social worker is not offered the form
    client.force_login(manager_a)
    assert f'action="{url}"' in client.get(page_url).text
    refused = client.post(url, {"reason": " "}, follow=True)
    assert WITHDRAW_REASON_REQUIRED in [m.message for m in refused.context["messages"]]
    page = client.post(url, {"reason": REASON}, follow=True).text
    stored = Letter.objects.get()
    assert "Indicative budget letter withdrawn." in page
    assert escape(f"by {manager_a}: {REASON}") in page
    assert "withdrawn on " in page and url not in page  # no second withdrawal offered
    again = client.post(url, {"reason": "Again"}, follow=True)
    assert [m.message for m in again.context["messages"]] == [
        ALREADY_WITHDRAWN.format(
            date=f"{timezone.localtime(stored.withdrawn_at):%d %b %Y %H:%M}", who=manager_a
        )
    ]


def test_postgresql_refuses_update_and_delete(letter, manager_a):
    rows = Letter.objects.filter(pk=letter.pk)
    with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
        rows.update(pdf=b"%PDF-forged")
    with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
        rows.update(figures={"indicative_weekly": "999.00"})
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
        rows.delete()
    letter_withdraw(actor=manager_a, letter=letter, reason=REASON)
    # Withdrawn once: the withdrawal itself never changes either.
    with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
        rows.update(withdrawn_reason="Rewritten")
    assert Letter.objects.get().read_pdf() == letter.read_pdf()
    assert Letter.objects.get().withdrawn_reason == REASON


def test_another_teams_manager_cannot_withdraw(letter, manager_b):
    from assessments.services.people import TEAM_NOT_ALLOWED

    with pytest.raises(PermissionDenied, match=TEAM_NOT_ALLOWED):
        letter_withdraw(actor=manager_b, letter=letter, reason=REASON)
    letter.refresh_from_db()
    assert letter.withdrawn_at is None
