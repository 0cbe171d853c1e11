"""Who is e-mailed when allocations' work waits for someone, and what the e-mail says (through
assessments.notifications.notify: no personal data, a link, after commit). Each function is
called by the service where the waiting item comes into being."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from allocations.models import AgreedBudget, IndicativeBudget, RasPolicy, SupportPlan
from allocations.permissions import BUDGET_DECIDE, PLAN_AUTHORISE, POLICY_APPROVE, REVIEW_START
from allocations.selectors.plans import plan_authors
from allocations.selectors.reviews import DUE_WITHIN_DAYS, due_for_review
from assessments.models import User
from assessments.notifications import notification_claim, notify, permission_holders

PLAN_TO_AUTHORISE = (
    "A support plan to authorise",
    "A support plan is waiting for your authorisation.",
)
PLAN_AGREED = (
    "A support plan you submitted was agreed",
    "A decision was made on a support plan you submitted: it was agreed.",
)
PLAN_RETURNED = (
    "A support plan you submitted was returned",
    "A decision was made on a support plan you submitted: it was returned to you with comments.",
)
LOWER_BUDGET_TO_DECIDE = (
    "A lower figure to decide",
    "A lower indicative budget is waiting for your decision.",
)
LOWER_AGREED_TO_DECIDE = (
    "A lower figure to decide",
    "A lower agreed budget is waiting for your decision.",
)
POLICY_TO_APPROVE = (
    "A draft RAS policy to approve",
    "A draft RAS policy version is waiting for a second person to approve it.",
)
REVIEWS_DUE = (
    "Reviews coming due",
    "{count} review(s) of personal budgets in your team have come due or fall due within "
    "{days} days.",
)


def _send(users: Iterable[User], message: tuple[str, str], link_path: str, actor) -> list[User]:
    subject, reason = message
    return notify(users, subject=subject, link_path=link_path, reason=reason, actor=actor)


def notify_plan_to_authorise(plan: SupportPlan, *, actor: User) -> list[User]:
    """The team managers of the person's team who may authorise the plan (not its authors)."""
    managers = permission_holders(PLAN_AUTHORISE, team_id=plan.person.team_id).exclude(
        pk__in=plan_authors(plan)
    )
    link = reverse("allocations:plan_detail", args=[plan.pk])
    return _send(managers, PLAN_TO_AUTHORISE, link, actor)


def notify_plan_decided(plan: SupportPlan, *, actor: User, agreed: bool) -> list[User]:
    """The worker who submitted the plan (and who started it, if someone else): agreed or
    returned, by a team manager or the panel."""
    writers = User.objects.filter(pk__in={plan.submitted_by_id, plan.created_by_id} - {None})
    link = reverse("allocations:plan_detail", args=[plan.pk])
    return _send(writers, PLAN_AGREED if agreed else PLAN_RETURNED, link, actor)


def notify_lower_figure(budget: IndicativeBudget | AgreedBudget, *, actor: User) -> list[User]:
    """The team managers of the person's team who decide on lower figures."""
    managers = permission_holders(BUDGET_DECIDE, team_id=budget.person.team_id)
    if isinstance(budget, AgreedBudget):
        link = reverse("allocations:agreed_decide", args=[budget.pk])
        return _send(managers, LOWER_AGREED_TO_DECIDE, link, actor)
    link = reverse("allocations:budget_detail", args=[budget.pk])
    return _send(managers, LOWER_BUDGET_TO_DECIDE, link, actor)


def notify_policy_to_approve(policy: RasPolicy, *, actor: User) -> list[User]:
    """Everyone who may approve a draft policy, except whoever drafted it (four eyes)."""
    approvers = permission_holders(POLICY_APPROVE).exclude(pk=policy.created_by_id)
    link = reverse("allocations:policy_detail", args=[policy.pk])
    return _send(approvers, POLICY_TO_APPROVE, link, actor)


def notify_reviews_due(team_id: int, *, count: int, days: int) -> list[User]:
    """The workers and managers of a team (who start reviews): `count` reviews have come due."""
    subject, reason = REVIEWS_DUE
    return notify(
        permission_holders(REVIEW_START, team_id=team_id),
        subject=subject,
        link_path=reverse("home"),
        reason=reason.format(count=count, days=days),
    )


def review_reminder_key(agreed_id: int, due: datetime.date) -> str:
    return f"review_due:{agreed_id}:{due.isoformat()}"


@transaction.atomic
def review_reminders_send(*, today: datetime.date | None = None) -> dict[int, int]:
    """Announce the reviews that have come due (overdue, or due within DUE_WITHIN_DAYS, not
    started, the person not already being reassessed after one): one e-mail per team member
    who starts reviews, counting the team's newly due reviews. Each agreed budget's due date
    is announced once (notification_claim), so a rerun, or two runs at once, sends nothing
    twice; a later due date (after a review that changed nothing) is announced in its turn.
    Returns {team id: reviews announced}. Run daily: `manage.py send_review_reminders`."""
    today = today or timezone.localdate()
    due = (
        due_for_review(AgreedBudget.objects.filter(person__team_id__isnull=False), today=today)
        .order_by("pk")
        .values_list("pk", "review_due", "person__team_id")
    )
    announced: Counter[int] = Counter()
    for agreed_id, review_due, team_id in due:
        if notification_claim(review_reminder_key(agreed_id, review_due)):
            announced[team_id] += 1
    for team_id, count in sorted(announced.items()):
        notify_reviews_due(team_id, count=count, days=DUE_WITHIN_DAYS)
    return dict(announced)
