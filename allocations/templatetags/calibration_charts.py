"""`{% run_charts run as charts %}`: a calibration run's charts, with their alt text and data
tables, for `allocations/calibration/_charts.html` (the run page includes it whole)."""

from __future__ import annotations

from django import template

from allocations.selectors.calibration_charts import Chart, run_charts

register = template.Library()


@register.simple_tag
def run_charts_for(run) -> list[Chart]:
    """The run's charts; the run came through its door in the view."""
    return run_charts(run)
