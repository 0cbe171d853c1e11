"""Who sees reports, and for what: the filters every report reads, as one ReportScope.

A team manager sees their own team; a senior manager, RAS administrator or auditor sees every
team (PEOPLE_ALL_TEAMS); everyone else, social workers included, sees no reports (403).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from allocations.permissions import REPORTS_VIEW
from assessments.models import ClientGroup, Team
from assessments.roles import PEOPLE_ALL_TEAMS

NOT_REPORT_READER = "Your role does not see reports."
NOT_YOUR_TEAM = "You can see reports for your own team only."


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The first instant of `day` in the council's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def day_after(day: datetime.date) -> datetime.datetime:
    """The first instant after `day` ends, in the council's time zone: a fact stamped before
    it happened on or before `day`."""
    return local_midnight(day + datetime.timedelta(days=1))


@dataclass(frozen=True)
class ReportScope:
    """What a report covers: a period (both days included), the teams (None: every team) and
    a client group (None: every group). Reports count events (a budget agreed, a referral
    decided) that fall in the period, and states (stage, commitment) as at its last day."""

    start: datetime.date
    end: datetime.date
    team_ids: tuple[int, ...] | None = None
    client_group: str | None = None

    def instants(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The period as [its first instant, the instant after its last day), local time:
        compared with timestamps as they are stored, so an index on them can serve."""
        return local_midnight(self.start), day_after(self.end)

    def people(self, path: str = "") -> Q:
        """The filter for people in scope, on a model that reaches Person by `path` (e.g.
        "person__" from a budget, "" on Person itself): their team and client group."""
        q = Q()
        if self.team_ids is not None:
            q &= Q(**{f"{path}team_id__in": self.team_ids})
        if self.client_group is not None:
            q &= Q(**{f"{path}client_group": self.client_group})
        return q

    def describe(self) -> str:
        """The scope in words, for a page heading, an export and the PDF pack."""
        teams = (
            "every team"
            if self.team_ids is None
            else ", ".join(Team.objects.filter(pk__in=self.team_ids).values_list("name", flat=True))
            or "no team"
        )
        group = ClientGroup(self.client_group).label if self.client_group else "every client group"
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}; {teams}; {group}"


def reports_visible(user) -> bool:
    return user.is_authenticated and user.has_perm(REPORTS_VIEW)


def report_scope_for_user(
    user,
    *,
    start: datetime.date,
    end: datetime.date,
    team_id: int | None = None,
    client_group: str | None = None,
) -> ReportScope:
    """The scope `user` may see for the filters asked for. PermissionDenied when the role sees
    no reports, or a team manager asks for another team; a team manager who names no team
    gets their own."""
    if not reports_visible(user):
        raise PermissionDenied(NOT_REPORT_READER)
    if user.has_perm(PEOPLE_ALL_TEAMS):
        team_ids = None if team_id is None else (team_id,)
    else:
        if user.team_id is None or (team_id is not None and team_id != user.team_id):
            raise PermissionDenied(NOT_YOUR_TEAM)
        team_ids = (user.team_id,)
    if client_group is not None and client_group not in ClientGroup.values:
        raise ValueError(f"Unknown client group {client_group!r}.")
    if end < start:
        raise ValueError("The period ends before it starts.")
    return ReportScope(start=start, end=end, team_ids=team_ids, client_group=client_group)
