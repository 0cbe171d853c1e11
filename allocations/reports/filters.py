"""The reports' filters: a period, a team and a client group, as a GET form, turned into the
ReportScope every report reads (through report_scope_for_user, which holds the permission
rule).

Bad input (an end before the start, an end after today, a team the list does not offer) is
shown next to its field, and the page answers for the defaults: the twelve months up to today
(from the first day of the month eleven months ago), every team the user may see, every client
group. A team manager asking for another team is refused (403), as report_scope_for_user does.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from allocations.reports.scope import (
    NOT_REPORT_READER,
    NOT_YOUR_TEAM,
    ReportScope,
    report_scope_for_user,
    reports_visible,
)
from assessments.models import ClientGroup, Team
from assessments.roles import PEOPLE_ALL_TEAMS
from ras_site.forms import PARTS, DayMonthYearField

END_BEFORE_START = "The end date must be on or after the start date."
END_IN_FUTURE = "The end date cannot be after today."
PERIOD_TOO_LONG = "Choose a period of at most 5 years."
MAX_DAYS = 5 * 366
FILTER_FIELDS = ("start", "end", "team", "client_group")
DATE_FILTERS = ("start", "end")


def default_period(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The twelve months up to `today`: from the first day of the month eleven months ago."""
    months = today.year * 12 + today.month - 1 - 11
    return datetime.date(months // 12, months % 12 + 1, 1), today


def _all_teams(user) -> bool:
    return user.has_perm(PEOPLE_ALL_TEAMS)


class ReportFilterForm(forms.Form):
    # Typed as day, month and year; start=yyyy-mm-dd (the export links, older bookmarks, the
    # pack's hidden fields) is taken too.
    start = DayMonthYearField(label="From", accept_iso=True)
    end = DayMonthYearField(label="To", accept_iso=True)
    team = forms.TypedChoiceField(label="Team", coerce=int, required=False, empty_value=None)
    client_group = forms.ChoiceField(
        label="Client group",
        required=False,
        choices=[("", "All client groups"), *ClientGroup.choices],
    )

    def __init__(self, data=None, *, user, today: datetime.date):
        start, end = default_period(today)
        own_team = None if _all_teams(user) else user.team_id
        super().__init__(
            data,
            initial={"start": start, "end": end, "team": own_team or "", "client_group": ""},
        )
        self.today = today
        if _all_teams(user):
            teams = [(t.pk, t.name) for t in Team.objects.order_by("name")]
            self.fields["team"].choices = [("", "All teams"), *teams]
        else:
            # A team manager's own team only, chosen already.
            self.fields["team"].choices = [
                (t.pk, t.name) for t in Team.objects.filter(pk=user.team_id)
            ]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if end is not None and end > self.today:
            self.add_error("end", END_IN_FUTURE)
        elif start is not None and end is not None:
            if end < start:
                self.add_error("end", END_BEFORE_START)
            elif (end - start).days > MAX_DAYS:
                self.add_error("start", PERIOD_TOO_LONG)
        return data


def _asks_for_another_team(request, user) -> bool:
    """A team manager naming an existing team that is not theirs."""
    asked = request.GET.get("team", "").strip()
    if _all_teams(user) or not asked or asked == str(user.team_id):
        return False
    return asked.isdigit() and Team.objects.filter(pk=int(asked)).exists()


def _date_named(query, name: str) -> bool:
    """Whether the query gives the date `name`, as yyyy-mm-dd or as any of its three parts."""
    keys = (name, *(f"{name}_{part}" for part in PARTS))
    return any(query.get(key, "").strip() for key in keys)


def scope_from_request(request) -> tuple[ReportFilterForm, ReportScope]:
    """The filter form (bound when the request names any filter) and the scope to report on:
    the filters asked for when they are valid, otherwise the defaults (the form carries the
    errors). PermissionDenied for a role that sees no reports, or a team manager asking for
    another team."""
    user = request.user
    if not reports_visible(user):
        raise PermissionDenied(NOT_REPORT_READER)
    today = timezone.localdate()
    start, end = default_period(today)
    names = [*FILTER_FIELDS, *(f"{d}_{part}" for d in DATE_FILTERS for part in PARTS)]
    asked = any(name in request.GET for name in names)
    data = None
    if asked:
        data = {name: request.GET.get(name, "") for name in names}
        # A date left out (a link naming only a team, say) is the default's.
        for name, default in zip(DATE_FILTERS, (start, end), strict=True):
            if not _date_named(request.GET, name):
                data[name] = default.isoformat()
    form = ReportFilterForm(data, user=user, today=today)
    filters = {"start": start, "end": end, "team_id": None, "client_group": None}
    if asked:
        if _asks_for_another_team(request, user):
            raise PermissionDenied(NOT_YOUR_TEAM)
        if form.is_valid():
            data = form.cleaned_data
            filters = {
                "start": data["start"],
                "end": data["end"],
                "team_id": data["team"],
                "client_group": data["client_group"] or None,
            }
    return form, report_scope_for_user(user, **filters)


def scope_query(scope: ReportScope) -> str:
    """The scope as query parameters, for the links to its exports and charts."""
    params = {"start": scope.start.isoformat(), "end": scope.end.isoformat()}
    if scope.team_ids is not None and len(scope.team_ids) == 1:
        params["team"] = scope.team_ids[0]
    if scope.client_group:
        params["client_group"] = scope.client_group
    return urlencode(params)
