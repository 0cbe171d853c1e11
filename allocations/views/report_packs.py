"""The members' report pack: the packs issued (list and one pack), issuing one for a scope,
and downloading one byte for byte as issued. Thin: door → service → redirect or render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.permissions import REPORT_PACK_ISSUE
from allocations.reports.filters import ReportFilterForm
from allocations.reports.scope import report_scope_for_user
from allocations.selectors.report_packs import report_pack_get_for_user, report_pack_list
from allocations.services.report_packs import NOT_PACK_ISSUER, PackJustIssued, report_pack_issue
from assessments.views.refusals import refuse
from ras_site.downloads import document_download

LIST_TEMPLATE = "allocations/report_packs/list.html"


def _list_page(request, form, *, status: int = 200):
    packs = report_pack_list(user=request.user)
    return render(
        request,
        LIST_TEMPLATE,
        {
            "packs": packs,
            "form": form if request.user.has_perm(REPORT_PACK_ISSUE) else None,
        },
        status=status,
    )


@require_http_methods(["GET"])
def report_pack_list_view(request):
    # The dashboard's filters, with its defaults (the twelve months up to today).
    return _list_page(request, ReportFilterForm(user=request.user, today=timezone.localdate()))


@require_http_methods(["POST"])
def report_pack_issue_view(request):
    """Issue a pack for the posted scope (start, end, team, client_group: the dashboard's
    filter names) and show it; the same scope posted again by the same person within a minute
    shows the pack just issued (PackJustIssued)."""
    if not request.user.has_perm(REPORT_PACK_ISSUE):
        raise PermissionDenied(NOT_PACK_ISSUER)
    form = ReportFilterForm(request.POST, user=request.user, today=timezone.localdate())
    if not form.is_valid():
        return _list_page(request, form, status=400)
    scope = report_scope_for_user(
        request.user,
        start=form.cleaned_data["start"],
        end=form.cleaned_data["end"],
        team_id=form.cleaned_data["team"],
        client_group=form.cleaned_data["client_group"] or None,
    )
    try:
        pack = report_pack_issue(actor=request.user, scope=scope)
    except PackJustIssued as repeat:
        messages.info(request, str(repeat))
        return redirect("allocations:report_pack_detail", pk=repeat.pack.pk)
    except ValueError as refusal:
        refuse(request, refusal)
        return redirect("allocations:report_pack_list")
    messages.success(request, "Report pack issued.")
    return redirect("allocations:report_pack_detail", pk=pack.pk)


@require_http_methods(["GET"])
def report_pack_detail_view(request, pk: int):
    pack = report_pack_get_for_user(user=request.user, pk=pk)
    return render(request, "allocations/report_packs/detail.html", {"pack": pack})


@require_http_methods(["GET"])
def report_pack_pdf_view(request, pk: int):
    """The issued PDF, byte for byte as issued (checked against its SHA-256 first: a file that
    does not match is refused with a page saying so)."""
    pack = report_pack_get_for_user(user=request.user, pk=pk)
    return document_download(
        request,
        pack,
        f"report-pack-{pack.pk}-{pack.period_start:%Y-%m-%d}-to-{pack.period_end:%Y-%m-%d}.pdf",
    )
