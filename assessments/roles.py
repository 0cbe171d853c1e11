"""Roles are Django groups; this module is the one place that says what each role may do.

`roles_sync()` makes the groups and their permissions match ROLE_PERMISSIONS exactly. It runs
after every migrate, so a fresh database (and the test database) always has the roles.
"""

from __future__ import annotations

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
# anyone who drafted, imported or edited the version (assessments/services.py).
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


# Permissions of later apps are named here as strings (no import), so this stays the one
# place that says what each role may do.
POLICY_VIEW = "allocations.view_raspolicy"
BUDGET_VIEW = "allocations.view_indicativebudget"
BUDGET_RECALCULATE = "allocations.recalculate_indicativebudget"
BUDGET_DECIDE = "allocations.decide_indicativebudget"

PLAN_VIEW = "allocations.view_supportplan"
PANEL_VIEW = ["panels.view_panelreferral", "panels.view_panelmeeting", "panels.view_paneldecision"]

_READ = [
    PERSON_VIEW,
    HISTORY_VIEW,
    ASSESSMENT_VIEW,
    QUESTIONNAIRE_VIEW,
    POLICY_VIEW,
    BUDGET_VIEW,
    PLAN_VIEW,
    "allocations.view_agreedbudget",
    "allocations.view_letter",
]
_TEAM_CASEWORK = [
    *_READ,
    PERSON_ADD,
    PERSON_CHANGE,
    ASSESSMENT_ADD,
    ASSESSMENT_CHANGE,
    "allocations.add_supportplan",
    "allocations.change_supportplan",
    "allocations.add_letter",
]
_SERVICE_READ = [*_READ, PEOPLE_ALL_TEAMS]
# RAS administrators maintain the questionnaire (drafts only) and the funding triggers, in
# the questionnaire pages and the Django admin.
_QUESTIONNAIRE_EDIT = [
    f"assessments.{action}_{model}"
    for model in ("questionnaireversion", "section", "question", "answeroption", "fundingtrigger")
    for action in ("view", "add", "change", "delete")
    if not (model in ("questionnaireversion", "fundingtrigger") and action == "delete")
]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.SOCIAL_WORKER: _TEAM_CASEWORK,
    # Team managers also recalculate budgets and decide on lower figures for their team.
    Role.TEAM_MANAGER: [
        *_TEAM_CASEWORK,
        BUDGET_RECALCULATE,
        BUDGET_DECIDE,
        "allocations.authorise_supportplan",
        # Letters in batches, for their own team; withdrawing a letter sent in error.
        "allocations.run_letterbatch",
        "allocations.view_letterbatch",
        "allocations.withdraw_letter",
    ],
    # Panel members and chairs read only the people referred to the panel: those on a meeting
    # they belong to and those waiting for a meeting (panels/selectors.py registers that rule
    # with people_visible_to). No PEOPLE_ALL_TEAMS: anyone else is 404, as for another team's
    # worker.
    Role.PANEL_MEMBER: [*_READ, *PANEL_VIEW],
    # The chair arranges meetings, sets agendas and records the panel's decisions.
    Role.PANEL_CHAIR: [
        *_READ,
        *PANEL_VIEW,
        "panels.add_panelmeeting",
        "panels.add_paneldecision",
    ],
    Role.RAS_ADMINISTRATOR: [
        *_SERVICE_READ,
        *_QUESTIONNAIRE_EDIT,
        # Publishes a version someone else drafted.
        QUESTIONNAIRE_PUBLISH,
        # Drafts policy versions (approved by someone else), applies approved ones.
        "allocations.add_raspolicy",
        "allocations.change_raspolicy",
        "allocations.approve_raspolicy",
        "allocations.reprice_raspolicy",
        BUDGET_RECALCULATE,
        # Reference data in the Django admin.
        "assessments.view_team",
        "assessments.add_team",
        "assessments.change_team",
    ],
    # Senior managers approve policy versions and publish questionnaire versions (four eyes),
    # and decide on lower figures.
    Role.SENIOR_MANAGER: [
        *_SERVICE_READ,
        *PANEL_VIEW,
        "allocations.approve_raspolicy",
        QUESTIONNAIRE_PUBLISH,
        BUDGET_DECIDE,
        "allocations.add_letter",
        "allocations.run_letterbatch",
        "allocations.view_letterbatch",
        "allocations.withdraw_letter",
    ],
    # Reads everything, including history and the access log; changes nothing.
    Role.AUDITOR: [
        *_SERVICE_READ,
        *PANEL_VIEW,
        ACCESS_LOG_VIEW,
        "assessments.view_team",
        "assessments.view_fundingtrigger",
    ],
}


def _permission(codename_with_app: str):
    Permission = global_apps.get_model("auth", "Permission")
    app_label, codename = codename_with_app.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@transaction.atomic
def roles_sync() -> None:
    """Create each role's group and set its permissions to exactly ROLE_PERMISSIONS."""
    Group = global_apps.get_model("auth", "Group")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.label)
        group.permissions.set([_permission(c) for c in codenames])


def roles_sync_after_migrate(sender, using="default", verbosity=0, **kwargs) -> None:
    # Permissions are normally created app by app as post_migrate runs; make sure every app's
    # exist before the groups refer to them.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_sync()
