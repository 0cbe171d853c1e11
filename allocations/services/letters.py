"""Issuing a letter from stored figures (rendered, stored with its SHA-256, never changed;
the same figures make one live letter) and withdrawing one."""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocations.letters.kinds import LetterContent, letter_content
from allocations.letters.rendering import render_pdf
from allocations.models import Letter
from allocations.permissions import LETTER_ISSUE, LETTER_WITHDRAW
from assessments.models import Person, User
from assessments.selectors.people import team_allowed
from assessments.services.people import TEAM_NOT_ALLOWED
from ras_site.documents import store_document

# Where letters' PDFs are kept in the documents storage (named by their SHA-256).
LETTER_FILES = "letters"

# The database's rule that the same figures make one live letter (allocations/models.py).
ONCE_PER_FIGURES = "letter_once_per_figures"


ALREADY_ISSUED = "{kind} already issued on {date} by {who}: the same letter is shown."


NOT_LETTER_ISSUER = "Your role cannot issue letters."


WITHDRAW_REASON_REQUIRED = "Say why the letter is withdrawn."
WITHDRAW_REASON_MAX = 2000
WITHDRAW_REASON_TOO_LONG = f"Say why in at most {WITHDRAW_REASON_MAX} characters."
WITHDRAW_REASON_NUL = "The reason holds a character that cannot be stored (a null byte)."


ALREADY_WITHDRAWN = "This letter was already withdrawn on {date} by {who}."


class LetterAlreadyWithdrawn(Exception):
    """A letter is withdrawn once; its withdrawal is never changed."""


def _figures_key(kind: str, content: LetterContent) -> str:
    canonical = json.dumps(
        {"kind": kind, "source": content.source_id, "figures": content.figures}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _live_letter(person: Person, kind: str, key: str) -> Letter | None:
    """The letter not withdrawn for exactly these figures, if one was issued."""
    return (
        Letter.objects.select_related("issued_by")
        .filter(person=person, kind=kind, figures_sha256=key, withdrawn_at__isnull=True)
        .first()
    )


def letter_issue(
    *,
    actor: User,
    person: Person,
    kind: str,
    source_id: int | None = None,
    batch=None,
) -> tuple[Letter, bool]:
    """Issue a letter from stored figures. Returns (letter, reused): when a letter not
    withdrawn was already issued for exactly the same figures, that letter is returned
    (reused=True) and nothing is stored, so two clicks on "Issue" make one letter.

    The PDF is made outside any transaction (it takes a fifth of a second); the letter is
    then stored in one INSERT, in a savepoint: when a concurrent request stored the same
    figures first, the database refuses the second (letter_once_per_figures) and the first
    request's letter is returned. Raises PermissionDenied (role, or a person of a team the
    actor may not see: the team rule) or NothingToIssue."""
    if not actor.has_perm(LETTER_ISSUE):
        raise PermissionDenied(NOT_LETTER_ISSUER)
    if not team_allowed(actor, person.team_id):
        raise PermissionDenied(TEAM_NOT_ALLOWED)
    content = letter_content(kind, person, source_id)
    key = _figures_key(kind, content)
    existing = _live_letter(person, kind, key)
    if existing is not None:
        return existing, True
    now = timezone.now()
    pdf = render_pdf(content, person, timezone.localdate(now))
    return _store(person, kind, content, key, pdf, actor=actor, batch=batch, now=now)


def letter_already_issued_message(letter: Letter) -> str:
    """What the person's page says when "Issue" returned a letter issued before."""
    return ALREADY_ISSUED.format(
        kind=letter.get_kind_display(),
        date=f"{timezone.localtime(letter.issued_at):%d %b %Y %H:%M}",
        who=letter.issued_by,
    )


def _is_once_per_figures(problem: IntegrityError) -> bool:
    diag = getattr(problem.__cause__, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return diag.constraint_name == ONCE_PER_FIGURES
    return "allocations_letter" in str(problem) or ONCE_PER_FIGURES in str(problem)


def _store(person, kind, content, key, pdf: bytes, *, actor, batch, now) -> tuple[Letter, bool]:
    """Store a new letter (its PDF a file in the documents storage, the row naming it with its
    SHA-256 and size; history row naming the actor, who may be a batch's creator with no
    request). Returns (letter, reused): the letter stored first when another request stored
    the same figures while this PDF was made."""
    # The file first, then the row: a row never names a file not yet written. A letter not
    # stored after all (the same figures stored first by another request, or a rollback)
    # leaves its file unnamed: harmless (ras_site/documents.py).
    pdf_file, sha256, size_bytes = store_document(LETTER_FILES, pdf)
    letter = Letter(
        person=person,
        kind=kind,
        source_id=content.source_id,
        figures=content.figures,
        figures_sha256=key,
        pdf_file=pdf_file,
        sha256=sha256,
        size_bytes=size_bytes,
        issued_at=now,
        issued_by=actor,
        batch=batch,
    )
    letter._history_user = actor
    letter._change_reason = "issued"
    try:
        with transaction.atomic():
            letter.save()
    except IntegrityError as problem:
        existing = _live_letter(person, kind, key)
        if existing is None or not _is_once_per_figures(problem):
            raise
        return existing, True
    return letter, False


def letter_withdraw(*, actor: User, letter: Letter, reason: str) -> Letter:
    """Withdraw an issued letter, with a reason: the one change a letter allows, made once.
    Its PDF and figures are kept; the same figures can then be issued again.

    Raises PermissionDenied (role, or the team rule), ValidationError (no reason) or
    LetterAlreadyWithdrawn. Writes a history row naming the actor."""
    if not actor.has_perm(LETTER_WITHDRAW):
        raise PermissionDenied("Your role cannot withdraw letters.")
    if not team_allowed(actor, letter.person.team_id):
        raise PermissionDenied(TEAM_NOT_ALLOWED)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": WITHDRAW_REASON_REQUIRED})
    if len(reason) > WITHDRAW_REASON_MAX:
        raise ValidationError({"reason": WITHDRAW_REASON_TOO_LONG})
    if "\x00" in reason:  # posted without a form, so Django's own check does not apply
        raise ValidationError({"reason": WITHDRAW_REASON_NUL})
    with transaction.atomic():
        # The PDF is neither read nor written again (it is not in the history either; a letter
        # issued before the files moved out may still hold it in the row).
        locked = Letter.objects.select_for_update().defer("pdf").get(pk=letter.pk)
        if locked.withdrawn_at is not None:
            raise LetterAlreadyWithdrawn(
                ALREADY_WITHDRAWN.format(
                    date=f"{timezone.localtime(locked.withdrawn_at):%d %b %Y %H:%M}",
                    who=locked.withdrawn_by or "the system",  # a migration's repair
                )
            )
        locked.withdrawn_at, locked.withdrawn_by, locked.withdrawn_reason = (
            timezone.now(),
            actor,
            reason,
        )
        locked._withdrawing = True
        locked._history_user = actor
        locked._change_reason = "withdrawn"
        locked.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    return locked
