"""Filters for calibration's report pages: a stored report (JSON data) as table rows, with
client groups and methods as people read them (the stored data keeps their codes)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

from allocations.forms import CALIBRATION_METHODS
from assessments.models import ClientGroup

register = template.Library()

GROUP_LABELS = dict(ClientGroup.choices)
METHOD_LABELS = dict(CALIBRATION_METHODS)


def group_label(code: str) -> str:
    """A client group's label ("older_people" → "Older people"); an unknown code as it is."""
    return GROUP_LABELS.get(code, code)


@register.filter
def client_group(code: str) -> str:
    return group_label(code)


@register.filter
def method_label(code: str) -> str:
    """A fitting method's name ("ratio" → "Ratio of totals (total cost ÷ total points)")."""
    return METHOD_LABELS.get(code, code)


@register.filter
def against(total: str | None, budget: str | None) -> str:
    """A stored total less the budget ("267.90" against "250.00" → "17.90"), "—" without
    either."""
    if total in (None, "") or budget in (None, ""):
        return "—"
    return str(Decimal(total) - Decimal(budget))


@register.filter
def rescaled(weight: str, reference: str | None) -> str:
    """How many new points an old point in a section becomes when its weight is adopted:
    weight ÷ the reference price, to 4 decimal places ("—" without a reference price)."""
    if not reference:
        return "—"
    return str((Decimal(weight) / Decimal(reference)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


@register.filter
def overall_rows(report: dict) -> list[tuple[str, dict]]:
    """The report's overall statistics as the one row of a statistics table."""
    return [("All cases", report.get("overall") or {})]


@register.filter
def stats_rows(groups: dict | None) -> list[tuple[str, dict]]:
    """{label: statistics} as (label, statistics) rows, in the report's order."""
    return list((groups or {}).items())


@register.filter
def group_stats_rows(groups: dict | None) -> list[tuple[str, dict]]:
    """{client group code: statistics} as (the group's label, statistics) rows, in the
    report's order."""
    return [(group_label(code), stats) for code, stats in (groups or {}).items()]


@register.filter
def section_title(code: str, titles: dict | None) -> str:
    """A section as people know it: "Personal care (s1)" from the titles a weights run kept;
    its code alone for a run kept before titles were (or a code no questionnaire has)."""
    title = (titles or {}).get(code)
    return f"{title} ({code})" if title else code
