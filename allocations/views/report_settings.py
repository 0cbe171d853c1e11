"""The report settings page (issue 12): the targets the reports measure against, a form to
change them (RAS administrators) and every change, with who, when, what and why. Senior
managers and auditors, who read reports, see the page but not the form."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from allocations.forms import ReportSettingsForm
from allocations.models import ReportSettings
from allocations.permissions import REPORT_SETTINGS_CHANGE
from allocations.reports.scope import NOT_REPORT_READER, reports_visible
from allocations.reports.targets import report_targets
from allocations.services.report_settings import (
    NOT_SETTINGS_EDITOR,
    REPORT_SETTINGS_FIELDS,
    report_settings_update,
)
from assessments.forms import add_service_errors
from assessments.selectors.history import history_entries

SETTINGS_SAVED = "The report settings are saved."
SETTINGS_REFUSED = "Nothing has been saved: correct the fields marked below."


def _history(settings: ReportSettings) -> list[tuple]:
    """(entry, why, the settings as that change left them) for every change, newest first
    (none before the first change). One query."""
    if settings._state.adding:
        return []
    records = list(
        settings.history.select_related("history_user").order_by("history_date", "history_id")
    )
    entries = history_entries(records, ReportSettings, skip={"updated_at", "updated_by"})
    return list(zip(entries, [r.history_change_reason or "" for r in reversed(records)],
                    reversed(records), strict=True))  # fmt: skip


@require_http_methods(["GET", "POST"])
def report_settings_view(request):
    if not reports_visible(request.user):
        raise PermissionDenied(NOT_REPORT_READER)
    can_change = request.user.has_perm(REPORT_SETTINGS_CHANGE)
    settings = report_targets()
    form = ReportSettingsForm(instance=settings) if can_change else None
    status = 200
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied(NOT_SETTINGS_EDITOR)
        form = ReportSettingsForm(request.POST, instance=ReportSettings(pk=settings.pk))
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in REPORT_SETTINGS_FIELDS}
            try:
                report_settings_update(
                    actor=request.user, data=data, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, SETTINGS_SAVED)
                return redirect("allocations:report_settings")
        status = 400
    return render(
        request,
        "allocations/reports/settings.html",
        {
            "settings": settings,
            "form": form,
            "can_change": can_change,
            "dashboard_url": reverse("allocations:reports"),
            "history": _history(settings),
            "refused": SETTINGS_REFUSED if status == 400 else "",
        },
        status=status,
    )
