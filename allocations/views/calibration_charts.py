"""A calibration run's charts as SVG (issue 11), behind the run's door: the run page shows
them with `<img>`, each beside a table of the figures it plots."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_http_methods

from allocations.selectors.calibration import run_get_for_user
from allocations.selectors.calibration_charts import run_chart_svg

# matplotlib's SVG styles itself inline. Opened on its own, a chart may do that and nothing
# else (no scripts, no fetching); the pages showing it keep the site's policy.
CHART_CSP = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "script-src": ["'none'"],
    "img-src": ["'none'"],
    "font-src": ["'none'"],
    "connect-src": ["'none'"],
    "form-action": ["'none'"],
}


@require_http_methods(["GET"])
@csp_replace(CHART_CSP)
def run_chart_view(request, pk: int, name: str):
    """One chart of a run as SVG; 404 for a chart the run has not (or an unknown name)."""
    run = run_get_for_user(user=request.user, pk=pk)
    svg = run_chart_svg(run, name)
    if svg is None:
        raise Http404("This run has no such chart.")
    return HttpResponse(svg, content_type="image/svg+xml")
