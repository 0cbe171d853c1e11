"""Filters for calibration's report pages: a stored report (JSON data) as table rows."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def overall_rows(report: dict) -> list[tuple[str, dict]]:
    """The report's overall statistics as the one row of a statistics table."""
    return [("All cases", report.get("overall") or {})]


@register.filter
def stats_rows(groups: dict | None) -> list[tuple[str, dict]]:
    """{label: statistics} as (label, statistics) rows, in the report's order."""
    return list((groups or {}).items())


@register.filter
def scalar_items(data: dict | None) -> list[tuple[str, object]]:
    """The plain values of a stored result (not its tables or lists), to list beside it."""
    return [(k, v) for k, v in (data or {}).items() if not isinstance(v, (dict, list))]


@register.filter
def field_label(name: str) -> str:
    """`out_of_sample_r2` → "Out of sample r2"."""
    return str(name).replace("_", " ").capitalize()
