"""The auditor's pages (issue 13): a search across records, and the whole service's access log
with its filters and CSV export. Only ACCESS_LOG_VIEW holders (auditors); everyone else 403."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.forms import AccessLogFilterForm
from allocations.selectors.records import access_log, access_log_csv_rows, record_search
from assessments.models import PersonAccess
from assessments.services.people import person_access_record
from assessments.views.people import record_shown
from ras_site.downloads import download

ACCESSES_PER_PAGE = 50


@require_http_methods(["GET"])
def record_search_view(request):
    query = request.GET.get("q", "")[:100]
    results = record_search(user=request.user, query=query)
    record_shown(request, results, PersonAccess.Page.RECORDS_SEARCH)
    return render(
        request, "allocations/records/search.html", {"query": query.strip(), "results": results}
    )


def _filtered(request):
    """The log for the filters asked for, and the form (with its errors: then the log is not
    filtered, and nothing is listed)."""
    form = AccessLogFilterForm(request.GET or None)
    if not request.GET:
        return form, access_log(user=request.user)
    if not form.is_valid():
        return form, access_log(user=request.user).none()
    person = form.cleaned_data["person"]
    if person is not None:
        # Reading who opened one person's record is itself an opening of it, as on the
        # person's own access-log page.
        person_access_record(
            user=request.user, person=person, page=PersonAccess.Page.ACCESS_LOG, path=request.path
        )
    accesses = access_log(
        user=request.user,
        who=form.cleaned_data["who"],
        person=person,
        start=form.cleaned_data["start"],
        end=form.cleaned_data["end"],
    )
    return form, accesses


@require_http_methods(["GET"])
def access_log_view(request):
    access_log(user=request.user)  # the gate: 403 before the form reads anything
    form, accesses = _filtered(request)
    page = Paginator(accesses, ACCESSES_PER_PAGE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "allocations/records/access_log.html",
        {"form": form, "page": page, "filters": filters.urlencode()},
    )


@require_http_methods(["GET"])
def access_log_csv_view(request):
    access_log(user=request.user)
    _form, accesses = _filtered(request)
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    return download(
        access_log_csv_rows(accesses),
        "text/csv",
        f"access-log-{stamp}.csv",
        response_class=StreamingHttpResponse,
    )
