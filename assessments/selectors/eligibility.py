"""The eligibility determination recorded on an assessment."""

from __future__ import annotations

from assessments.models import Assessment, EligibilityDetermination


def eligibility_for(*, assessment: Assessment) -> EligibilityDetermination | None:
    return (
        EligibilityDetermination.objects.filter(assessment=assessment)
        .select_related("decided_by")
        .prefetch_related("findings")
        .first()
    )
