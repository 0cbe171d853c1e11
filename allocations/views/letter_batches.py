"""Letters in batches: starting one, following it (and resuming it when its worker stopped)
and downloading its ZIP."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from allocations.forms import LetterBatchForm
from allocations.jobs import RESUMING, job_status_response
from allocations.letters.kinds import letter_batch_description, letter_batch_people
from allocations.permissions import BATCH_RUN
from allocations.selectors.letters import (
    NOT_BATCH_RUNNER,
    BatchFilesRefused,
    batch_letters,
    batch_zip,
    letter_batch_get_for_user,
    letter_batch_list,
)
from allocations.services.letter_batches import letter_batch_resume, letter_batch_start
from assessments.models import PersonAccess
from assessments.selectors.people import people_visible_to
from assessments.services.people import person_access_record
from assessments.views.refusals import refuse
from ras_site.downloads import document_refused_page, download


def _batch_people(user, form):
    """The people a batch covers: those the chosen kind of letter is for (see
    letter_batch_people), of a team (a team manager only their own), optionally only those
    whose record dates from a given day on."""
    people = people_visible_to(user)
    team = form.cleaned_data.get("team")
    if team is not None:
        people = people.filter(team=team)
    people = letter_batch_people(form.cleaned_data["kind"], people, form.cleaned_data.get("since"))
    return people.distinct().order_by("reference")


@require_http_methods(["GET", "POST"])
def letter_batch_list_view(request):
    if not request.user.has_perm(BATCH_RUN):
        raise PermissionDenied(NOT_BATCH_RUNNER)
    form = LetterBatchForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        people = _batch_people(request.user, form)
        kind = form.cleaned_data["kind"]
        description = letter_batch_description(
            kind, team=form.cleaned_data.get("team"), since=form.cleaned_data.get("since")
        )
        batch = letter_batch_start(
            actor=request.user, people=people, kind=kind, description=description
        )
        return redirect("allocations:letter_batch", pk=batch.pk)
    batches = letter_batch_list(user=request.user)
    return render(
        request, "allocations/letter_batches/list.html", {"form": form, "batches": batches}
    )


@require_http_methods(["GET", "POST"])
def letter_batch_view(request, pk: int):
    """The batch's progress (GET); POST resumes a batch whose worker stopped."""
    batch = letter_batch_get_for_user(user=request.user, pk=pk)
    if request.method == "POST":
        try:
            letter_batch_resume(actor=request.user, batch=batch)
        except ValidationError as refusal:
            refuse(request, refusal)
        else:
            messages.success(request, RESUMING)
        return redirect("allocations:letter_batch", pk=batch.pk)
    return render(request, "allocations/letter_batches/detail.html", {"batch": batch})


@require_http_methods(["GET"])
def letter_batch_status_view(request, pk: int):
    return job_status_response(letter_batch_get_for_user(user=request.user, pk=pk))


@require_http_methods(["GET"])
def letter_batch_zip_view(request, pk: int):
    batch = letter_batch_get_for_user(user=request.user, pk=pk)
    if not batch.is_done:
        raise Http404("The batch has not finished yet.")
    for letter in batch_letters(batch):
        person_access_record(
            user=request.user,
            person=letter.person,
            page=PersonAccess.Page.LETTER,
            path=request.path,
        )
    try:
        archive = batch_zip(batch)
    except BatchFilesRefused as refusal:
        return document_refused_page(request, refusal)
    return download(archive, "application/zip", f"letters-batch-{batch.pk}.zip")
