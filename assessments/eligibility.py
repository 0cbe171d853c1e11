"""The Care Act 2014 eligibility rule, as plain Python so it can be tested as a table."""

from __future__ import annotations

MINIMUM_OUTCOMES = 2


def is_eligible(
    *, impairment_or_illness: bool, outcomes_unable: int, significant_impact: bool
) -> bool:
    """Care and Support (Eligibility Criteria) Regulations 2015, regulation 2(1): needs arise
    from a physical or mental impairment or illness, the adult is unable to achieve two or more
    of the outcomes in 2(2), and as a consequence there is, or is likely to be, a significant
    impact on their wellbeing. All three conditions must hold."""
    return impairment_or_illness and outcomes_unable >= MINIMUM_OUTCOMES and significant_impact
