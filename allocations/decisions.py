"""A manager's decision on a lower figure: the one rule for indicative budgets and agreed
budgets alike (no silent reductions). Runs inside the caller's transaction."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from assessments.models import Person, User

ADOPT, KEEP = "adopt", "keep"
NO_LONGER_CURRENT = (
    "The figure this one would replace is no longer the current one: work it out again instead."
)
CHOOSE = "Choose to adopt the lower figure or keep the current one."


def lock_person(person_id: int) -> None:
    """Serialise every change of one person's budgets: two changes at once queue here instead
    of both reading "no other current version" (the unique indexes are the backstop)."""
    Person.objects.select_for_update().filter(pk=person_id).values_list("pk").get()


def decide_lower(
    record: models.Model,
    *,
    actor: User,
    decision: str,
    reason: str,
    replaced_status: str,
    already_decided: str,
):
    """Adopt a version awaiting a decision (the current one takes `replaced_status`) or keep
    the current one (the lower one is kept on record as not adopted). The reason is recorded
    with who decided and when; the caller checks the actor may decide."""
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the decision."})
    if decision not in (ADOPT, KEEP):
        raise ValidationError({"decision": CHOOSE})
    model = type(record)
    lock_person(record.person_id)
    record = model.objects.select_for_update().get(pk=record.pk)
    if record.status != model.Status.AWAITING_DECISION:
        raise ValidationError(already_decided)
    now = timezone.now()
    record.decided_by, record.decided_at, record.decision_reason = actor, now, reason.strip()
    if decision == ADOPT:
        current = (
            model.objects.select_for_update()
            .filter(person_id=record.person_id, status=model.Status.CURRENT)
            .first()
        )
        if current is not None and record.replaces_id != current.pk:
            raise ValidationError(NO_LONGER_CURRENT)
        if current is not None:
            model.WORKFLOW.move(current, replaced_status)
            current.ended_at = now
            current._history_user = actor
            current.save()
        model.WORKFLOW.move(record, model.Status.CURRENT)
    else:
        model.WORKFLOW.move(record, model.Status.NOT_ADOPTED)
        record.ended_at = now
    record._history_user = actor
    record.save()
    return record
