from decimal import Decimal

from django import template

from assessments.models import Assessment, QuestionnaireVersion

register = template.Library()

# The badge colour of each status, by model: the one place the mapping is written.
STATUS_BADGES = {
    Assessment: {
        Assessment.Status.DRAFT: "text-bg-warning",
        Assessment.Status.SUBMITTED: "text-bg-success",
    },
    QuestionnaireVersion: {
        QuestionnaireVersion.Status.DRAFT: "text-bg-warning",
        QuestionnaireVersion.Status.PUBLISHED: "text-bg-success",
    },
}
OTHER_STATUS_BADGE = "text-bg-secondary"


@register.filter
def status_badge(obj) -> str:
    """`assessment|status_badge`: the Bootstrap badge class for an assessment's or a
    questionnaire version's status (in progress and draft amber, the one in force green, the
    rest grey)."""
    return STATUS_BADGES.get(type(obj), {}).get(obj.status, OTHER_STATUS_BADGE)


@register.filter
def get_item(mapping, key):
    """`mapping|get_item:key` — a dict look-up the template language lacks."""
    return mapping.get(key) if mapping else None


@register.filter
def points(value):
    """Points as people write them: 4, 4.5, 1.25 (no trailing zeros)."""
    if value is None or value == "":
        return ""
    return format(Decimal(value).normalize(), "f")
