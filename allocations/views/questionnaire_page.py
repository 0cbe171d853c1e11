"""The impact section of a draft questionnaire version's page (registered in AppConfig.ready):
what publishing it would do to everyone's budget, above its Publish button."""

from __future__ import annotations

from django.template.loader import render_to_string

from allocations.selectors.repricing import (
    ImpactUnavailable,
    policy_impact_visible,
    questionnaire_impact_summary,
)


def questionnaire_impact_section(request, version) -> str | None:
    """The impact summary of a draft, for the roles that see impact previews; nothing for a
    published or retired version, or for other roles."""
    if not version.is_draft or not policy_impact_visible(request.user):
        return None
    try:
        impact = questionnaire_impact_summary(user=request.user, version=version)
        unavailable = ""
    except ImpactUnavailable as problem:
        impact, unavailable = None, str(problem)
    return render_to_string(
        "allocations/questionnaires/_impact_section.html",
        {"version": version, "preview": impact, "unavailable": unavailable},
        request=request,
    )
