"""The one door to a questionnaire version (`questionnaire_get_for_user`): versions are not
secret, so the role is checked before the version is looked up; and the status badges."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from assessments.models import Assessment, QuestionnaireVersion
from assessments.roles import QUESTIONNAIRE_CHANGE, QUESTIONNAIRE_PUBLISH
from assessments.selectors.questionnaires import (
    EDITORS_ONLY,
    PUBLISH_NOT_PERMITTED,
    questionnaire_get_for_user,
)
from assessments.templatetags.assessment_tags import status_badge
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_role_that_sees_no_questionnaires_is_refused(questionnaire):
    nobody = make_user("no.role", None)
    with pytest.raises(PermissionDenied):
        questionnaire_get_for_user(user=nobody, pk=questionnaire.pk)


def test_every_reading_role_sees_a_version(worker_a, auditor, questionnaire):
    for user in (worker_a, auditor):
        assert questionnaire_get_for_user(user=user, pk=questionnaire.pk) == questionnaire


def test_a_missing_version_is_404_for_whoever_may_act(ras_admin):
    for permission in (None, QUESTIONNAIRE_CHANGE, QUESTIONNAIRE_PUBLISH):
        with pytest.raises(Http404):
            questionnaire_get_for_user(user=ras_admin, pk=999_999, permission=permission)


def test_editing_is_refused_before_the_look_up(worker_a, questionnaire):
    for pk in (questionnaire.pk, 999_999):
        with pytest.raises(PermissionDenied, match=EDITORS_ONLY):
            questionnaire_get_for_user(user=worker_a, pk=pk, permission=QUESTIONNAIRE_CHANGE)


def test_publishing_is_refused_to_a_role_without_it(auditor, questionnaire):
    for pk in (questionnaire.pk, 999_999):
        with pytest.raises(PermissionDenied, match=PUBLISH_NOT_PERMITTED):
            questionnaire_get_for_user(user=auditor, pk=pk, permission=QUESTIONNAIRE_PUBLISH)


def test_the_door_opens_for_the_right_role(ras_admin, senior_manager, questionnaire):
    got = questionnaire_get_for_user(
        user=ras_admin, pk=questionnaire.pk, permission=QUESTIONNAIRE_CHANGE
    )
    assert got == questionnaire
    for user in (ras_admin, senior_manager):
        got = questionnaire_get_for_user(
            user=user, pk=questionnaire.pk, permission=QUESTIONNAIRE_PUBLISH
        )
        assert got == questionnaire


# --- statuses --------------------------------------------------------------------------------


Q, A = QuestionnaireVersion, Assessment
STATUSES = [
    (Q, Q.Status.DRAFT, "text-bg-warning", "is_draft"),
    (Q, Q.Status.PUBLISHED, "text-bg-success", "is_published"),
    (Q, Q.Status.RETIRED, "text-bg-secondary", "is_retired"),
    (A, A.Status.DRAFT, "text-bg-warning", "is_draft"),
    (A, A.Status.SUBMITTED, "text-bg-success", "is_submitted"),
    (A, A.Status.SUPERSEDED, "text-bg-secondary", "is_superseded"),
    (A, A.Status.WITHDRAWN, "text-bg-secondary", "is_withdrawn"),
]


@pytest.mark.parametrize(("model", "status", "badge", "flag"), STATUSES)
def test_the_badge_and_the_flags_follow_the_status(model, status, badge, flag):
    """An assessment's or a version's badge colour, and exactly one is_<status> property true."""
    obj = model(status=status)
    assert status_badge(obj) == badge
    flags = {f for m, _, _, f in STATUSES if m is model}
    assert {f for f in flags if getattr(obj, f)} == {flag}
