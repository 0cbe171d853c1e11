"""Panel reads, scoped to the user asking."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from allocations.models import SupportPlan
from assessments.selectors import people_visible_to
from panels.models import PanelDecision, PanelMeeting, PanelReferral

PANEL_VIEW = "panels.view_panelreferral"


def _require(user) -> None:
    if not user.has_perm(PANEL_VIEW):
        raise PermissionDenied("Only panel members, chairs and managers see the panel's work.")


def meetings_for(*, user) -> QuerySet[PanelMeeting]:
    _require(user)
    return PanelMeeting.objects.select_related("chair").prefetch_related("members")


def meeting_get(*, user, pk: int) -> PanelMeeting:
    try:
        return meetings_for(user=user).get(pk=pk)
    except PanelMeeting.DoesNotExist:
        raise Http404("No such meeting.") from None


def referrals_unscheduled(*, user) -> QuerySet[PanelReferral]:
    _require(user)
    return PanelReferral.objects.filter(
        meeting__isnull=True, status=PanelReferral.Status.WAITING
    ).select_related("plan__person__team")


def referral_get(*, user, pk: int) -> PanelReferral:
    _require(user)
    referral = (
        PanelReferral.objects.select_related(
            "plan__person__team",
            "plan__indicative_budget__policy",
            "plan__indicative_budget__assessment",
            "plan__created_by",
            "meeting__chair",
            "referred_by",
        )
        .filter(pk=pk, plan__person__in=people_visible_to(user))
        .first()
    )
    if referral is None:
        raise Http404("No such referral.")
    return referral


def my_work(*, user) -> dict:
    """What is waiting for this user: plans returned to them, plans awaiting their
    authorisation, their panel agenda, and recent decisions on their cases."""
    today = timezone.localdate()
    mine = Q(created_by=user) | Q(submitted_by=user)
    returned = (
        SupportPlan.objects.filter(mine, status=SupportPlan.Status.RETURNED)
        .distinct()
        .select_related("person", "decided_by")
    )
    to_authorise = SupportPlan.objects.none()
    if user.has_perm("allocations.authorise_supportplan"):
        to_authorise = (
            SupportPlan.objects.filter(
                status=SupportPlan.Status.AWAITING_AUTHORISATION,
                person__in=people_visible_to(user),
            )
            .exclude(created_by=user)
            .exclude(submitted_by=user)
            .select_related("person", "submitted_by")
        )
    agenda = (
        PanelMeeting.objects.filter(Q(chair=user) | Q(members=user), date__gte=today)
        .distinct()
        .prefetch_related("referrals__plan__person")
        .order_by("date")
    )
    decisions = (
        PanelDecision.objects.filter(
            Q(referral__plan__created_by=user) | Q(referral__plan__submitted_by=user)
        )
        .distinct()
        .select_related("referral__plan__person", "decided_by")
        .order_by("-decided_at")[:20]
    )
    agreed_by_manager = (
        SupportPlan.objects.filter(mine, status=SupportPlan.Status.AGREED)
        .distinct()
        .select_related("person", "decided_by")
        .order_by("-decided_at")[:20]
    )
    return {
        "returned": returned,
        "to_authorise": to_authorise,
        "agenda": agenda,
        "decisions": decisions,
        "agreed": agreed_by_manager,
    }
