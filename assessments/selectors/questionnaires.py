"""Questionnaire versions: the list, the one door to a version (`questionnaire_get_for_user`)
and a version's whole tree."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from assessments.models import AnswerOption, QuestionnaireVersion, Section
from assessments.roles import QUESTIONNAIRE_CHANGE, QUESTIONNAIRE_PUBLISH, QUESTIONNAIRE_VIEW


def questionnaire_versions(*, user) -> QuerySet[QuestionnaireVersion]:
    """Every version, newest first; PermissionDenied for a role that cannot see questionnaires."""
    if not user.has_perm(QUESTIONNAIRE_VIEW):
        raise PermissionDenied("Your role cannot see questionnaires.")
    return QuestionnaireVersion.objects.select_related("published_by", "created_by")


EDITORS_ONLY = "Only RAS administrators maintain questionnaires."
PUBLISH_NOT_PERMITTED = "Only RAS administrators and senior managers publish questionnaires."

# What a user is told when their role lacks the permission the action needs.
QUESTIONNAIRE_DENIED = {
    QUESTIONNAIRE_CHANGE: EDITORS_ONLY,
    QUESTIONNAIRE_PUBLISH: PUBLISH_NOT_PERMITTED,
}


def questionnaire_get_for_user(
    *, user, pk: int, permission: str | None = None
) -> QuestionnaireVersion:
    """The one door to a questionnaire version.

    Versions are not secret, so the role is checked first: PermissionDenied if a `permission`
    is asked for (one of QUESTIONNAIRE_DENIED's keys) and the role lacks it, or if the role
    cannot see questionnaires at all; then Http404 for a version that does not exist.
    """
    if permission is not None and not user.has_perm(permission):
        raise PermissionDenied(QUESTIONNAIRE_DENIED[permission])
    try:
        return questionnaire_versions(user=user).get(pk=pk)
    except QuestionnaireVersion.DoesNotExist:
        raise Http404("No such questionnaire version.") from None


def questionnaire_tree(*, version: QuestionnaireVersion) -> list[Section]:
    """Sections → questions → options → triggers, in four queries."""
    return list(
        version.sections.prefetch_related(
            Prefetch("questions__options", queryset=AnswerOption.objects.order_by("order")),
            "questions__options__triggers",
        )
    )
