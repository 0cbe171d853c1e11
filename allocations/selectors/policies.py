"""Reads for RAS policy versions: the one in force on a day, the list, one version, and who
may approve a draft."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from allocations.models import RasPolicy
from allocations.permissions import POLICY_APPROVE, POLICY_VIEW
from assessments.models import User


def policy_in_force_on(date: datetime.date) -> RasPolicy | None:
    """The latest approved version effective on or before `date` (the latest approved wins
    when two share an effective date)."""
    return (
        RasPolicy.objects.filter(status=RasPolicy.Status.APPROVED, effective_from__lte=date)
        .order_by("-effective_from", "-approved_at", "-id")
        .first()
    )


def policy_list(*, user) -> QuerySet[RasPolicy]:
    if not user.has_perm(POLICY_VIEW):
        raise PermissionDenied("Your role cannot see RAS policy versions.")
    return RasPolicy.objects.select_related("created_by", "approved_by")


def policy_get_for_user(*, user, pk: int) -> RasPolicy:
    try:
        return policy_list(user=user).get(pk=pk)
    except RasPolicy.DoesNotExist:
        raise Http404("No such policy version.") from None


def policy_authors(policy: RasPolicy) -> set[int]:
    """Everyone who drafted or edited this version at any point: its whole history, not only
    the creator and the last editor."""
    authors = set(policy.history.values_list("history_user_id", flat=True))
    authors |= {policy.created_by_id, policy.updated_by_id}
    authors.discard(None)
    return authors


def policy_can_approve(*, user: User, policy: RasPolicy) -> bool:
    return (
        user.has_perm(POLICY_APPROVE)
        and policy.status == RasPolicy.Status.DRAFT
        and user.pk not in policy_authors(policy)
    )
