"""Reads for letters and letter batches, scoped to the user asking."""

from __future__ import annotations

import io
import zipfile

from django.core.exceptions import PermissionDenied
from django.http import Http404

from allocations.models import Letter, LetterBatch
from allocations.permissions import BATCH_RUN, LETTER_VIEW
from assessments.selectors.people import people_visible_to
from ras_site.documents import DocumentRefused

NOT_BATCH_RUNNER = "Only managers issue letters in batches."


def letter_get_for_user(*, user, pk: int) -> Letter:
    """A letter of a person the user may see, or 404 (also for a role that reads no letters)."""
    letter = (
        Letter.objects.select_related("person")
        .filter(pk=pk, person__in=people_visible_to(user))
        .first()
    )
    if letter is None or not user.has_perm(LETTER_VIEW):
        raise Http404("No such letter.")
    return letter


def letter_batch_get_for_user(*, user, pk: int) -> LetterBatch:
    """A batch of letters for people the user may all see, or 404; 403 for a role that does not
    issue letters in batches."""
    if not user.has_perm(BATCH_RUN):
        raise PermissionDenied(NOT_BATCH_RUNNER)
    batch = LetterBatch.objects.filter(pk=pk).first()
    visible = set(people_visible_to(user).values_list("pk", flat=True))
    if batch is None or not set(batch.person_ids) <= visible:
        raise Http404("No such batch.")
    return batch


def letter_batch_list(*, user, limit: int = 20) -> list[LetterBatch]:
    """The batches the user started, newest first (403 for a role that does not issue letters
    in batches)."""
    if not user.has_perm(BATCH_RUN):
        raise PermissionDenied(NOT_BATCH_RUNNER)
    return list(LetterBatch.objects.filter(created_by=user).order_by("-created_at")[:limit])


def batch_letters(batch: LetterBatch) -> list[Letter]:
    """The letters this batch issued or reused, in the batch's order."""
    letters = Letter.objects.select_related("person").in_bulk(batch.letter_ids)
    return [letters[pk] for pk in batch.letter_ids if pk in letters]


BATCH_REFUSED = (
    "The ZIP has not been sent: the stored file of {count} does not match its record or is "
    "missing ({letters}). Tell your system administrator."
)


class BatchFilesRefused(Exception):
    """A batch's ZIP refused because some of its letters' stored files failed their check
    (each logged by read_document); `refusals` holds each DocumentRefused."""

    def __init__(self, refusals: list[DocumentRefused]):
        self.refusals = refusals
        count = "1 letter" if len(refusals) == 1 else f"{len(refusals)} letters"
        letters = ", ".join(
            f"{refused.document.person.reference}, letter {refused.document.pk}"
            for refused in refusals[:10]
        ) + (", …" if len(refusals) > 10 else "")
        super().__init__(BATCH_REFUSED.format(count=count, letters=letters))


def batch_zip(batch: LetterBatch) -> bytes:
    """One ZIP of PDFs, a file per person named by their reference. Every letter's bytes are
    checked against its SHA-256 first: BatchFilesRefused (and no ZIP) when any fails."""
    pdfs, refusals = [], []
    for letter in batch_letters(batch):
        try:
            pdfs.append((letter, letter.read_pdf()))
        except DocumentRefused as refused:
            refusals.append(refused)
    if refusals:
        raise BatchFilesRefused(refusals)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for letter, pdf in pdfs:
            archive.writestr(f"{letter.person.reference}-{letter.kind}.pdf", pdf)
    return buffer.getvalue()
