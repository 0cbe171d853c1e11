from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from assessments.eligibility import is_eligible
from assessments.models import EligibilityDetermination
from assessments.services.eligibility import eligibility_record


@pytest.mark.parametrize(
    ("impairment", "outcomes", "impact", "eligible"),
    [
        (True, 2, True, True),
        (True, 10, True, True),
        (True, 1, True, False),  # one outcome is not enough
        (True, 0, True, False),
        (False, 5, True, False),  # needs must arise from an impairment or illness
        (True, 5, False, False),  # no significant impact on wellbeing
        (False, 0, False, False),
    ],
)
def test_eligibility_rule(impairment, outcomes, impact, eligible):
    assert (
        is_eligible(
            impairment_or_illness=impairment, outcomes_unable=outcomes, significant_impact=impact
        )
        is eligible
    )


def _record(draft, actor, unable, **kwargs):
    draft.refresh_from_db()
    return eligibility_record(
        actor=actor,
        assessment=draft,
        lock_version=draft.lock_version,
        impairment_or_illness=kwargs.get("impairment", True),
        significant_impact=kwargs.get("impact", True),
        unable=unable,
        reasons=kwargs.get("reasons", "Because."),
    )


@pytest.mark.django_db
def test_eligibility_is_worked_out_from_the_findings_not_typed_in(draft_a, worker_a):
    one = _record(draft_a, worker_a, {"nutrition": {"pain_or_distress"}})
    assert one.eligible is False
    # Revising the decision while the assessment is a draft keeps the history.
    two = _record(
        draft_a, worker_a, {"nutrition": {"pain_or_distress"}, "toilet": {"significantly_longer"}}
    )
    assert two.pk == one.pk and two.eligible is True
    assert [h.eligible for h in two.history.order_by("history_id")] == [False, True]
    findings = {f.outcome: f for f in two.findings.all()}
    assert len(findings) == 10
    assert findings["toilet"].significantly_longer and findings["toilet"].unable
    assert not findings["clothing"].unable
    assert two.history.latest().history_user == worker_a


@pytest.mark.django_db
def test_eligibility_needs_reasons(draft_a, worker_a):
    with pytest.raises(ValidationError) as caught:
        _record(draft_a, worker_a, {}, reasons="  ")
    assert "reasons" in caught.value.message_dict
    assert not EligibilityDetermination.objects.exists()
