"""Reads for support plans: one plan for a user, its live lines, the needs it must meet, who
wrote it and its history."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404

from allocations.models import InformalSupportItem, PlanLine, SupportPlan
from allocations.permissions import PLAN_VIEW
from allocations.units import line_amount_text
from assessments.models import User
from assessments.selectors.history import FieldChange, HistoryEntry, object_history
from assessments.selectors.people import people_visible_to

OPEN_STATUSES = (
    SupportPlan.Status.DRAFT,
    SupportPlan.Status.RETURNED,
    SupportPlan.Status.AWAITING_AUTHORISATION,
    SupportPlan.Status.AT_PANEL,
)


def live_lines(plan: SupportPlan) -> list[PlanLine]:
    """The plan's lines that count: ended lines stay on record (and in the history) only."""
    return list(plan.lines.live())


def eligible_needs(plan: SupportPlan) -> list[str]:
    """The outcome codes the person was found unable to achieve (their eligible needs)."""
    determination = getattr(plan.indicative_budget.assessment, "eligibility", None)
    if determination is None:
        return []
    return [f.outcome for f in determination.findings.all() if f.unable]


def plan_sections(plan: SupportPlan) -> list[tuple[str, str]]:
    """(code, title) of each section of the questionnaire the person was assessed on."""
    assessment = plan.indicative_budget.assessment
    return list(assessment.questionnaire.sections.order_by("order").values_list("code", "title"))


WRITING = ("created", "edited", "submitted")


def plan_authors(plan: SupportPlan) -> set[int]:
    """Everyone who wrote any part of the plan: created, edited or submitted it, or added or
    removed a line or named informal support (read from the history, so it cannot be missed)."""
    authors = set(
        plan.history.filter(history_change_reason__in=WRITING).values_list(
            "history_user_id", flat=True
        )
    )
    authors |= set(
        PlanLine.history.filter(plan_id=plan.pk).values_list("history_user_id", flat=True)
    )
    authors |= set(
        InformalSupportItem.history.filter(plan_id=plan.pk).values_list(
            "history_user_id", flat=True
        )
    )
    authors |= {plan.created_by_id, plan.submitted_by_id}
    authors.discard(None)
    return authors


def wrote(actor: User, plan: SupportPlan) -> bool:
    return actor.pk in plan_authors(plan)


def plan_get_for_user(*, user, pk: int, permission: str | None = None) -> SupportPlan:
    """A support plan of a person the user may see, or 404 (also for a role that reads no
    plans). With `permission` (the action's, e.g. PLAN_CHANGE): PermissionDenied (403) for a
    user who may see the plan but whose role lacks it. The services check again."""
    plan = (
        SupportPlan.objects.select_related(
            "person__team",
            "indicative_budget__policy",
            "indicative_budget__assessment__eligibility",
            "created_by",
            "submitted_by",
            "decided_by",
        )
        .filter(pk=pk, person__in=people_visible_to(user))
        .first()
    )
    if plan is None or not user.has_perm(PLAN_VIEW):
        raise Http404("No such support plan on your caseload.")
    if permission is not None and not user.has_perm(permission):
        raise PermissionDenied("Your role cannot do this to a support plan.")
    return plan


# The history reasons of a changed line (services.plans.plan_line_update): the old line is
# ended with LINE_REPLACED and the new one created with LINE_REPLACES naming the old.
LINE_REPLACED = "changed"
LINE_REPLACES = "changed: replaces line {pk}"
_REPLACES = re.compile(r"changed: replaces line (\d+)$")


def plan_history(plan) -> list[HistoryEntry]:
    """The plan's own changes and every line and piece of named informal support added,
    changed or ended, newest first: what the plan holds now and what it held before (three
    queries)."""
    entries = object_history(plan)
    parts = [
        (PlanLine, "line", lambda r: f"{r.description}: {line_amount_text(r)}"),
        (InformalSupportItem, "named informal support", lambda r: f"{r.who}: {r.what}"),
    ]  # fmt: skip
    for model, noun, describe in parts:
        records = (
            model.history.filter(plan_id=plan.pk)
            .select_related("history_user")
            .order_by("history_date", "history_id")
        )
        said: dict[int, str] = {}  # what each line or item said, as the records go
        for record in records:
            user = record.history_user
            ended = record.ended_at is not None
            said[record.id] = now = describe(record)
            reason = record.history_change_reason or ""
            if ended and reason == LINE_REPLACED:
                continue  # told by the line that replaced it, as one change
            replaces = _REPLACES.match(reason)
            old = said.get(int(replaces.group(1)), "") if replaces else ""
            action = "Ended" if ended else "Changed" if replaces else "Added"
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=(user.get_full_name() or user.username) if user else "System",
                    action=f"{action} {noun}",
                    changes=(FieldChange(field=noun.capitalize(), old=old, new=now),),
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries
