"""Roles are Django groups. This module names the roles, assessments' own permissions and
assessments' share of each role; each later app registers its own share from its
AppConfig.ready() with `register_role_permissions()` (allocations/permissions.py,
panels/permissions.py), so assessments never names a higher app's permissions.

`roles_sync()` makes the groups and their permissions match `role_permissions()` exactly. It
runs after every migrate, so a fresh database (and the test database) always has the roles.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import models, transaction

PERSON_VIEW = "assessments.view_person"
PERSON_ADD = "assessments.add_person"
PERSON_CHANGE = "assessments.change_person"
# Held by the roles whose work covers the whole service rather than one team's caseload.
PEOPLE_ALL_TEAMS = "assessments.view_all_people"
ACCESS_LOG_VIEW = "assessments.view_personaccess"
HISTORY_VIEW = "assessments.view_historicalperson"
ASSESSMENT_VIEW = "assessments.view_assessment"
ASSESSMENT_ADD = "assessments.add_assessment"
ASSESSMENT_CHANGE = "assessments.change_assessment"
QUESTIONNAIRE_VIEW = "assessments.view_questionnaireversion"
QUESTIONNAIRE_CHANGE = "assessments.change_questionnaireversion"
# Publishing is four eyes: held by RAS administrators and senior managers, and refused to
# anyone who drafted, imported or edited the version (assessments/services/questionnaires.py).
QUESTIONNAIRE_PUBLISH = "assessments.publish_questionnaireversion"


class Role(models.TextChoices):
    """Group names are the labels, so the admin and the demo logins read naturally."""

    SOCIAL_WORKER = "social_worker", "Social worker"
    TEAM_MANAGER = "team_manager", "Team manager"
    PANEL_MEMBER = "panel_member", "Panel member"
    PANEL_CHAIR = "panel_chair", "Panel chair"
    RAS_ADMINISTRATOR = "ras_administrator", "RAS administrator"
    SENIOR_MANAGER = "senior_manager", "Senior manager"
    AUDITOR = "auditor", "Auditor"


_READ = [PERSON_VIEW, HISTORY_VIEW, ASSESSMENT_VIEW, QUESTIONNAIRE_VIEW]
_TEAM_CASEWORK = [*_READ, PERSON_ADD, PERSON_CHANGE, ASSESSMENT_ADD, ASSESSMENT_CHANGE]
_SERVICE_READ = [*_READ, PEOPLE_ALL_TEAMS]
# RAS administrators maintain the questionnaire (drafts only) and the funding triggers, in
# the questionnaire pages and the Django admin.
_QUESTIONNAIRE_EDIT = [
    f"assessments.{action}_{model}"
    for model in ("questionnaireversion", "section", "question", "answeroption", "fundingtrigger")
    for action in ("view", "add", "change", "delete")
    if not (model in ("questionnaireversion", "fundingtrigger") and action == "delete")
]

# Assessments' share of each role. Later apps add theirs with register_role_permissions()
# (allocations/permissions.py, panels/permissions.py).
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.SOCIAL_WORKER: _TEAM_CASEWORK,
    Role.TEAM_MANAGER: _TEAM_CASEWORK,
    # Panel members and chairs read only the people referred to the panel (panels registers
    # that rule with people_visible_to). No PEOPLE_ALL_TEAMS.
    Role.PANEL_MEMBER: _READ,
    Role.PANEL_CHAIR: _READ,
    Role.RAS_ADMINISTRATOR: [
        *_SERVICE_READ,
        *_QUESTIONNAIRE_EDIT,
        # Publishes a version someone else drafted.
        QUESTIONNAIRE_PUBLISH,
        # Reference data in the Django admin.
        "assessments.view_team",
        "assessments.add_team",
        "assessments.change_team",
    ],
    # Senior managers publish questionnaire versions (four eyes).
    Role.SENIOR_MANAGER: [*_SERVICE_READ, QUESTIONNAIRE_PUBLISH],
    # Reads everything, including history and the access log; changes nothing.
    Role.AUDITOR: [
        *_SERVICE_READ,
        ACCESS_LOG_VIEW,
        "assessments.view_team",
        "assessments.view_fundingtrigger",
    ],
}

_registered: dict[Role, set[str]] = {role: set() for role in Role}


def register_role_permissions(role: Role | str, codenames: Iterable[str]) -> None:
    """Add `codenames` ("app_label.codename") to `role`. A later app calls this from its
    AppConfig.ready() for its own permissions; registering the same names again changes nothing."""
    _registered[Role(role)].update(codenames)


def role_permissions() -> dict[Role, set[str]]:
    """Each role's permissions: assessments' own plus everything registered."""
    return {role: set(ROLE_PERMISSIONS.get(role, ())) | _registered[role] for role in Role}


def _permission(codename_with_app: str):
    Permission = global_apps.get_model("auth", "Permission")
    app_label, codename = codename_with_app.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_sync() -> None:
    """Create each role's group and set its permissions to exactly role_permissions()."""
    Group = global_apps.get_model("auth", "Group")
    for role, codenames in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=role.label)
        group.permissions.set([_permission(c) for c in sorted(codenames)])


def roles_sync_after_migrate(sender, using="default", verbosity=0, **kwargs) -> None:
    # Permissions are normally created app by app as post_migrate runs; make sure every app's
    # exist before the groups refer to them.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_sync()
