"""The public rules page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from allocations.adapter import engine_policy, example_case
from allocations.engine import calculate
from allocations.selectors.policies import policy_in_force_on


@login_not_required
@require_http_methods(["GET"])
def rules_view(request):
    """The rules and rates in force today, and how a budget is worked out. No login needed:
    anyone may check how the council calculates budgets."""
    policy = policy_in_force_on(timezone.localdate())
    example = None
    if policy is not None:
        example = calculate(engine_policy(policy), example_case())
    return render(request, "allocations/rules/rules.html", {"policy": policy, "example": example})
