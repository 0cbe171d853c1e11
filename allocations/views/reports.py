"""The reports dashboard (issue 12): the filters, then every registered report section
(report_sections()) with its tables and charts; each table as CSV, all of them as one XLSX
workbook, each chart as SVG. Every view reads the same filters from the query string
(scope_from_request), so a download or a chart is the table on the screen.

Who sees what is scope_from_request's rule: REPORTS_VIEW, a team manager their own team only
(403 for another), social workers and the panel's roles nothing (403).
"""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from allocations.permissions import REPORT_PACK_ISSUE, REPORT_PACK_VIEW, REPORT_SETTINGS_CHANGE
from allocations.reports.charts import CHARTS, chart_for
from allocations.reports.exports import table_csv, tables_xlsx
from allocations.reports.filters import scope_from_request, scope_query
from allocations.reports.pipeline import STAGE_BY_LABEL
from allocations.reports.scope import ReportScope
from allocations.reports.tables import SUPPRESSED_NOTE, Table, report_sections, report_tables
from allocations.views.calibration_charts import CHART_CSP
from ras_site.downloads import download

MARKS_NOTE = (
    "higher / lower: the figure differs markedly from the whole service's, in the direction named."
)
SHORT_HEADER = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pipeline_list_url(stage_label: str, query: str) -> str | None:
    """The list of the people in a pipeline stage (allocations/views/report_pipeline.py), for
    the same filters; None for a row that is not a stage."""
    stage = STAGE_BY_LABEL.get(stage_label)
    if stage is None:
        return None
    return reverse("allocations:report_pipeline_list", args=[stage.slug]) + f"?{query}"


def _all_tables(scope: ReportScope) -> list[Table]:
    return [table for _section, tables in report_tables(scope) for table in tables]


def _table_in_scope(scope: ReportScope, slug: str) -> Table:
    """The table called `slug`, reading the sections in turn until one has it; 404 if none.
    A section whose slug begins the table's ("money" for "money-comparison") is read first,
    so a download or a chart usually works out one section, not all of them."""
    sections = sorted(report_sections(), key=lambda s: not slug.startswith(f"{s.slug}-"))
    for section in sections:
        for table in section.tables(scope):
            if table.slug == slug:
                return table
    raise Http404("There is no such report table.")


def _notes(table: Table) -> list[str]:
    notes = list(table.notes)
    if table.has_suppressed:
        notes.append(SUPPRESSED_NOTE)
    if table.has_marks:
        notes.append(MARKS_NOTE)
    return notes


def _table_view(table: Table, query: str) -> dict:
    """What the shared partial (_table.html) needs to show one table, its chart and links."""
    links = [None] * len(table.rows)
    if table.slug == "pipeline-by-stage" and table.rows:
        links = [_pipeline_list_url(str(stage), query) for stage in table.values("stage")]
    chart = chart_for(table)
    return {
        "table": table,
        "rows": [
            {
                "cells": list(zip(row, table.columns, strict=True)),
                "link": link,
                # A short row header ("2026-05", a reference) is kept on one line.
                "nowrap": len(str(row[0])) <= SHORT_HEADER,
            }
            for row, link in zip(table.rows, links, strict=True)
        ],
        "notes": _notes(table),
        "csv_url": reverse("allocations:report_table_csv", args=[table.slug]) + f"?{query}",
        "chart": chart,
        "chart_alt": chart.alt(table) if chart else "",
        "chart_url": (
            reverse("allocations:report_chart", args=[table.slug]) + f"?{query}" if chart else ""
        ),
    }


@require_http_methods(["GET"])
def reports_view(request):
    """The dashboard: filters on top, then each section's tables (with charts where drawn)."""
    form, scope = scope_from_request(request)
    query = scope_query(scope)
    sections = [
        {"section": section, "tables": [_table_view(t, query) for t in tables]}
        for section, tables in report_tables(scope)
    ]
    settings_url = (
        reverse("allocations:report_settings")
        if request.user.has_perm(REPORT_SETTINGS_CHANGE)
        else None
    )
    return render(
        request,
        "allocations/reports/dashboard.html",
        {
            "form": form,
            "scope_text": scope.describe(),
            "sections": sections,
            "has_tables": any(s["tables"] for s in sections),
            "xlsx_url": reverse("allocations:report_xlsx") + f"?{query}",
            "settings_url": settings_url,
            # The members' pack, for the same filters (a POST: issuing makes a kept record).
            "scope": scope,
            "can_issue_pack": request.user.has_perm(REPORT_PACK_ISSUE),
            "packs_url": (
                reverse("allocations:report_pack_list")
                if request.user.has_perm(REPORT_PACK_VIEW)
                else None
            ),
        },
    )


def _period(scope: ReportScope) -> str:
    return f"{scope.start:%Y-%m-%d}-to-{scope.end:%Y-%m-%d}"


@require_http_methods(["GET"])
def report_table_csv_view(request, slug: str):
    """One table as CSV, for the filters in the query string (its scope in words at the end)."""
    _form, scope = scope_from_request(request)
    table = _table_in_scope(scope, slug)
    return download(
        table_csv(table, scope_text=scope.describe()),
        "text/csv; charset=utf-8",
        f"{slug}-{_period(scope)}.csv",
    )


@require_http_methods(["GET"])
def report_xlsx_view(request):
    """Every table on the dashboard as one workbook, a sheet per table."""
    _form, scope = scope_from_request(request)
    return download(
        tables_xlsx(_all_tables(scope), scope_text=scope.describe()),
        XLSX,
        f"reports-{_period(scope)}.xlsx",
    )


@require_http_methods(["GET"])
@csp_replace(CHART_CSP)
def report_chart_view(request, slug: str):
    """A table's chart as SVG; 404 for a table with no chart, or nothing to draw."""
    if slug not in CHARTS:
        raise Http404("There is no such chart.")
    _form, scope = scope_from_request(request)
    table = _table_in_scope(scope, slug)
    chart = chart_for(table)
    if chart is None:
        raise Http404("There is nothing to draw for these filters.")
    return HttpResponse(chart.draw(table), content_type="image/svg+xml")
