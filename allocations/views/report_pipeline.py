"""The pipeline's click-through (issue 12): the people in one stage, in the dashboard's scope
(the same filters, as query parameters), oldest first, a page at a time; each links to the
person's page. A team manager sees their own team only; other teams' are refused (403)."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.reports.pipeline import STAGE_BY_SLUG, STAGES, StagePeople
from allocations.reports.scope import NOT_REPORT_READER, report_scope_for_user, reports_visible

PEOPLE_PER_PAGE = 50


def _date(text: str | None, default: datetime.date) -> datetime.date:
    return datetime.date.fromisoformat(text) if text else default


@require_http_methods(["GET"])
def report_pipeline_list_view(request, stage: str):
    if not reports_visible(request.user):
        raise PermissionDenied(NOT_REPORT_READER)
    if stage not in STAGE_BY_SLUG:
        raise Http404("No such stage.")
    today = timezone.localdate()
    try:
        end = _date(request.GET.get("end"), today)
        start = _date(request.GET.get("start"), end.replace(day=1))
        team = request.GET.get("team")
        scope = report_scope_for_user(
            request.user,
            start=start,
            end=end,
            team_id=int(team) if team else None,
            client_group=request.GET.get("client_group") or None,
        )
    except ValueError as error:
        return HttpResponseBadRequest(f"The filters could not be read: {error}")
    people = StagePeople(scope, STAGE_BY_SLUG[stage])
    page = Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "allocations/reports/pipeline_list.html",
        {
            "stage": STAGE_BY_SLUG[stage],
            "stages": STAGES,
            "scope_text": scope.describe(),
            "as_at": people.as_at,
            "page": page,
            "filters": filters.urlencode(),
            "dashboard_url": reverse("allocations:reports"),
        },
    )
