"""Panel reads, scoped to the user asking."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from assessments.roles import PEOPLE_ALL_TEAMS
from assessments.selectors.people import people_visible_to
from panels.models import PanelMeeting, PanelReferral
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
    meetings = PanelMeeting.objects.select_related("chair").prefetch_related("members")
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
        # Its pages and documents show each member's attendance (read by member_id).
        meeting = meetings_for(user=user).prefetch_related("attendance").get(pk=pk)
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
