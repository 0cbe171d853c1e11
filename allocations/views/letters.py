"""Issuing, downloading and withdrawing a person's letters."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from allocations.letters.kinds import NothingToIssue
from allocations.permissions import LETTER_WITHDRAW
from allocations.selectors.letters import letter_get_for_user
from allocations.services.letters import (
    LetterAlreadyWithdrawn,
    letter_already_issued_message,
    letter_issue,
    letter_withdraw,
)
from assessments.models import PersonAccess
from assessments.selectors.people import person_get_for_user
from assessments.services.people import person_access_record
from assessments.views.refusals import refuse
from ras_site.downloads import document_download


@require_http_methods(["POST"])
def letter_issue_view(request, pk: int):
    person = person_get_for_user(user=request.user, pk=pk)
    kind = request.POST.get("kind", "")
    try:
        letter, reused = letter_issue(actor=request.user, person=person, kind=kind)
    except NothingToIssue as refusal:
        refuse(request, refusal)
    else:
        if reused:
            messages.info(request, letter_already_issued_message(letter))
        else:
            messages.success(request, f"{letter.get_kind_display()} issued.")
    return redirect("assessments:person_detail", pk=person.pk)


@require_http_methods(["GET"])
def letter_download_view(request, pk: int):
    """The issued PDF, byte for byte as issued (checked against its SHA-256 first: a file that
    does not match is refused with a page saying so). Every download is written to the access
    log."""
    letter = letter_get_for_user(user=request.user, pk=pk)
    person_access_record(
        user=request.user, person=letter.person, page=PersonAccess.Page.LETTER, path=request.path
    )
    return document_download(
        request, letter, f"{letter.person.reference}-{letter.kind}-{letter.pk}.pdf"
    )


@require_http_methods(["POST"])
def letter_withdraw_view(request, pk: int):
    """Withdraw an issued letter, with a reason (kept, never deleted)."""
    letter = letter_get_for_user(user=request.user, pk=pk)
    if not request.user.has_perm(LETTER_WITHDRAW):
        raise PermissionDenied("Your role cannot withdraw letters.")
    try:
        letter_withdraw(actor=request.user, letter=letter, reason=request.POST.get("reason", ""))
    except (ValidationError, LetterAlreadyWithdrawn) as refusal:
        refuse(request, refusal)
    else:
        messages.success(request, f"{letter.get_kind_display()} withdrawn.")
    return redirect("assessments:person_detail", pk=letter.person_id)
