"""Panel reads, scoped to the user asking."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from allocations.models import SupportPlan
from allocations.permissions import PLAN_AUTHORISE
from allocations.selectors.reviews import reviews_due, reviews_open
from assessments.roles import PEOPLE_ALL_TEAMS
from assessments.selectors.people import people_visible_to
from panels.models import PanelDecision, PanelMeeting, PanelReferral
from panels.permissions import PANEL_VIEW


def _require(user) -> None:
    if not user.has_perm(PANEL_VIEW):
        raise PermissionDenied("Only panel members, chairs and managers see the panel's work.")


def _belongs(user) -> Q:
    """Meetings the user chairs, sits on or arranged (the chair who arranges a meeting sets its
    agenda, even for another chair)."""
    return Q(chair=user) | Q(members=user) | Q(created_by=user)


def panel_people_visible(user) -> QuerySet | None:
    """Registered with assessments.selectors.people_visible_to (PanelsConfig.ready): the ids
    of the people a panel member or chair may read — those referred to a meeting they belong
    to (whatever the referral's status), and those waiting for a meeting, so that a chair can
    put them on an agenda. Nothing for anyone outside the panel."""
    if not user.has_perm(PANEL_VIEW):
        return None
    meetings = PanelMeeting.objects.filter(_belongs(user)).values("pk")
    return PanelReferral.objects.filter(
        Q(meeting__in=meetings) | Q(meeting__isnull=True, status=PanelReferral.Status.WAITING)
    ).values("plan__person_id")


def meetings_for(*, user) -> QuerySet[PanelMeeting]:
    """Every meeting for whole-service roles; otherwise the meetings the user belongs to (an
    agenda names the people on it)."""
    _require(user)
    meetings = PanelMeeting.objects.select_related("chair").prefetch_related(
        "members", "attendance__member"
    )
    if user.has_perm(PEOPLE_ALL_TEAMS):
        return meetings
    return meetings.filter(pk__in=PanelMeeting.objects.filter(_belongs(user)).values("pk"))


def _check_action(user, permission: str | None, refusal: str) -> None:
    if permission is not None and not user.has_perm(permission):
        raise PermissionDenied(refusal)


def meeting_get_for_user(
    *, user, pk: int, permission: str | None = None, refusal: str = ""
) -> PanelMeeting:
    """The one door to a meeting: PermissionDenied for anyone outside the panel's work, 404
    for a meeting the user may not see, then PermissionDenied (`refusal`) when the user sees
    it but lacks `permission`, the one the action needs."""
    try:
        meeting = meetings_for(user=user).get(pk=pk)
    except PanelMeeting.DoesNotExist:
        raise Http404("No such meeting.") from None
    _check_action(user, permission, refusal)
    return meeting


def meetings_to_move_to(*, user, referral: PanelReferral) -> QuerySet[PanelMeeting]:
    """The meetings this user can see that a referral could move to: still to come, not
    cancelled, not its own meeting; soonest first."""
    now = timezone.localtime()
    return (
        meetings_for(user=user)
        .filter(cancelled_at__isnull=True)
        .filter(Q(date__gt=now.date()) | Q(date=now.date(), time__gt=now.time()))
        .exclude(pk=referral.meeting_id or 0)
        .order_by("date", "time", "id")
    )


def referrals_unscheduled(*, user) -> QuerySet[PanelReferral]:
    _require(user)
    return PanelReferral.objects.filter(
        meeting__isnull=True, status=PanelReferral.Status.WAITING
    ).select_related("plan__person__team")


def referral_get_for_user(
    *, user, pk: int, permission: str | None = None, refusal: str = ""
) -> PanelReferral:
    """The one door to a referral: PermissionDenied for anyone outside the panel's work, 404
    unless the user may read the referred person, then PermissionDenied (`refusal`) when the
    user sees it but lacks `permission`, the one the action needs."""
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
    _check_action(user, permission, refusal)
    return referral


def my_work(*, user) -> dict:
    """What is waiting for this user: plans returned to them, plans awaiting their
    authorisation, their panel agenda, recent decisions on their cases, and their team's
    reviews due or overdue (oldest first) and in progress."""
    today = timezone.localdate()
    mine = Q(created_by=user) | Q(submitted_by=user)
    returned = (
        SupportPlan.objects.filter(mine, status=SupportPlan.Status.RETURNED)
        .distinct()
        .select_related("person", "decided_by")
    )
    to_authorise = SupportPlan.objects.none()
    if user.has_perm(PLAN_AUTHORISE):
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
        PanelMeeting.objects.filter(
            Q(chair=user) | Q(members=user), date__gte=today, cancelled_at__isnull=True
        )
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
        "reviews_due": reviews_due(user=user, today=today),
        "reviews_open": reviews_open(user=user),
    }
