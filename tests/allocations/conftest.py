"""Fixtures shared by allocations' tests."""

from __future__ import annotations

import pytest

from tests.factories import make_budgeted_person


@pytest.fixture
def caseload(policy, worker_a, worker_b, questionnaire):
    """Three people with current budgets under the spec policy (£4.88 a point, learning
    disability ×1.10, 5% contingency under £100), 8 points each, no existing package: an
    older person and a person with a learning disability in team A (North Locality Team), an
    older person in team B (South). Now: older people 8 × 4.88 = 39.04 − 5% → 37.09; learning
    disability 39.04 × 1.10 = 42.94 − 2.15 → 40.79."""
    return [
        make_budgeted_person(actor=worker_a, existing_weekly_cost_gbp=None),
        make_budgeted_person(
            actor=worker_a, existing_weekly_cost_gbp=None, client_group="learning_disability"
        ),
        make_budgeted_person(actor=worker_b, existing_weekly_cost_gbp=None),
    ]
