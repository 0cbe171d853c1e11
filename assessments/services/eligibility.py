"""The eligibility determination (Care Act 2014) recorded on a draft assessment. The rule
itself is plain Python in `assessments.eligibility`."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assessments.eligibility import is_eligible
from assessments.models import Assessment, EligibilityDetermination, Outcome, OutcomeFinding, User
from assessments.services.assessments import lock_draft, touch

MEANINGS = ("needs_assistance", "pain_or_distress", "endangers", "significantly_longer")


@transaction.atomic
def eligibility_record(
    *,
    actor: User,
    assessment: Assessment,
    lock_version: int,
    impairment_or_illness: bool,
    significant_impact: bool,
    unable: dict[str, set[str]],
    reasons: str,
) -> EligibilityDetermination:
    """Record (or revise, while the assessment is a draft) the eligibility determination.

    `unable` maps each outcome the person cannot achieve to the meanings that apply (a subset
    of MEANINGS). Eligibility is worked out by `is_eligible`, never typed in.
    """
    assessment = lock_draft(actor=actor, assessment=assessment, lock_version=lock_version)
    if not reasons.strip():
        raise ValidationError({"reasons": "Give the reasons for this decision."})
    for outcome, meanings in unable.items():
        if outcome not in Outcome.values or not set(meanings) <= set(MEANINGS):
            raise ValidationError("Unknown outcome or meaning.")
    outcomes_unable = sum(1 for meanings in unable.values() if meanings)
    determination = EligibilityDetermination.objects.filter(assessment=assessment).first()
    if determination is None:
        determination = EligibilityDetermination(assessment=assessment)
    determination.impairment_or_illness = impairment_or_illness
    determination.significant_impact = significant_impact
    determination.eligible = is_eligible(
        impairment_or_illness=impairment_or_illness,
        outcomes_unable=outcomes_unable,
        significant_impact=significant_impact,
    )
    determination.reasons = reasons.strip()
    determination.decided_at, determination.decided_by = timezone.now(), actor
    determination._history_user = actor
    determination.save()
    findings = {f.outcome: f for f in determination.findings.all()}
    for outcome in Outcome.values:
        meanings = unable.get(outcome, set())
        finding = findings.get(outcome) or OutcomeFinding(
            determination=determination, outcome=outcome
        )
        values = {meaning: meaning in meanings for meaning in MEANINGS}
        if finding.pk and all(getattr(finding, k) == v for k, v in values.items()):
            continue
        for meaning, value in values.items():
            setattr(finding, meaning, value)
        finding._history_user = actor
        finding.save()
    touch(assessment, actor=actor)
    return determination
