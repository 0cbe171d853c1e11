"""Issue 10: each app registers its own share of each role; the roles' effective permissions are
exactly those of the single ROLE_PERMISSIONS table in assessments/roles.py before the split
(the lists below were printed from it, sorted), plus the permissions added since, marked
where they appear (issue 10's panel decision; issue 11's calibration; issue 12's reports)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from assessments.roles import Role, register_role_permissions, role_permissions, roles_sync

EXPECTED: dict[Role, list[str]] = {
    Role.SOCIAL_WORKER: [
        "allocations.add_letter",
        "allocations.add_supportplan",
        "allocations.change_supportplan",
        "allocations.view_agreedbudget",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.add_review",  # issue 13: reviews
        "allocations.decide_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "assessments.add_assessment",
        "assessments.add_person",
        "assessments.change_assessment",
        "assessments.change_person",
        "assessments.view_assessment",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_questionnaireversion",
    ],
    Role.TEAM_MANAGER: [
        "allocations.add_letter",
        "allocations.add_supportplan",
        "allocations.authorise_supportplan",
        "allocations.change_supportplan",
        "allocations.decide_indicativebudget",
        "allocations.recalculate_indicativebudget",
        "allocations.run_letterbatch",
        "allocations.view_agreedbudget",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_letterbatch",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.add_review",  # issue 13: reviews
        "allocations.decide_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "allocations.withdraw_letter",
        "assessments.add_assessment",
        "assessments.add_person",
        "assessments.change_assessment",
        "assessments.change_person",
        "assessments.view_assessment",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_questionnaireversion",
        "allocations.view_reports",  # issue 12: reports
    ],
    Role.PANEL_MEMBER: [
        "allocations.view_agreedbudget",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "assessments.view_assessment",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_questionnaireversion",
        "panels.view_paneldecision",
        "panels.view_panelmeeting",
        "panels.view_panelreferral",
    ],
    Role.PANEL_CHAIR: [
        # Added with issue 10: the panel's decision agrees or returns the referred plan, and
        # plan_agree_by_panel / plan_return_by_panel check it.
        "allocations.decide_plan_by_panel",
        "allocations.view_agreedbudget",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "assessments.view_assessment",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_questionnaireversion",
        "panels.add_paneldecision",
        "panels.add_panelmeeting",
        "panels.view_paneldecision",
        "panels.view_panelmeeting",
        "panels.view_panelreferral",
    ],
    Role.RAS_ADMINISTRATOR: [
        "allocations.add_raspolicy",
        "allocations.approve_raspolicy",
        "allocations.change_raspolicy",
        "allocations.recalculate_indicativebudget",
        "allocations.reprice_raspolicy",
        # Added with issue 11: calibration (load, fit, adopt a fitted price as a draft).
        "allocations.run_calibration",
        "allocations.view_agreedbudget",
        "allocations.view_calibration",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "assessments.add_answeroption",
        "assessments.add_fundingtrigger",
        "assessments.add_question",
        "assessments.add_questionnaireversion",
        "assessments.add_section",
        "assessments.add_team",
        "assessments.change_answeroption",
        "assessments.change_fundingtrigger",
        "assessments.change_question",
        "assessments.change_questionnaireversion",
        "assessments.change_section",
        "assessments.change_team",
        "assessments.delete_answeroption",
        "assessments.delete_question",
        "assessments.delete_section",
        "assessments.publish_questionnaireversion",
        "assessments.view_all_people",
        "assessments.view_answeroption",
        "assessments.view_assessment",
        "assessments.view_fundingtrigger",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_question",
        "assessments.view_questionnaireversion",
        "assessments.view_section",
        "assessments.view_team",
        "allocations.view_reports",  # issue 12: reports
        "allocations.change_reportsettings",  # issue 12: reports
        "allocations.view_reportpack",  # issue 12: reports
        "allocations.add_reportpack",  # issue 12: reports
    ],
    Role.SENIOR_MANAGER: [
        "allocations.add_letter",
        "allocations.approve_raspolicy",
        "allocations.decide_indicativebudget",
        # Added with issue 11: calibration (load, fit, adopt a fitted price as a draft).
        "allocations.run_calibration",
        "allocations.run_letterbatch",
        "allocations.view_agreedbudget",
        "allocations.view_calibration",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_letterbatch",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "allocations.withdraw_letter",
        "assessments.publish_questionnaireversion",
        "assessments.view_all_people",
        "assessments.view_assessment",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_questionnaireversion",
        "panels.view_paneldecision",
        "panels.view_panelmeeting",
        "panels.view_panelreferral",
        "allocations.view_reports",  # issue 12: reports
        "allocations.view_reportpack",  # issue 12: reports
        "allocations.add_reportpack",  # issue 12: reports
    ],
    Role.AUDITOR: [
        "allocations.view_agreedbudget",
        # Added with issue 11: reads calibration's samples and runs.
        "allocations.view_calibration",
        "allocations.view_indicativebudget",
        "allocations.view_letter",
        "allocations.view_raspolicy",
        "allocations.view_review",  # issue 13: reviews
        "allocations.view_supportplan",
        "assessments.view_all_people",
        "assessments.view_assessment",
        "assessments.view_fundingtrigger",
        "assessments.view_historicalperson",
        "assessments.view_person",
        "assessments.view_personaccess",
        "assessments.view_questionnaireversion",
        "assessments.view_team",
        "panels.view_paneldecision",
        "panels.view_panelmeeting",
        "panels.view_panelreferral",
        "allocations.view_reports",  # issue 12: reports
        "allocations.view_reportpack",  # issue 12: reports
    ],
}


def _group_permissions(role: Role) -> set[str]:
    group = Group.objects.get(name=role.label)
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.mark.django_db
def test_every_role_has_exactly_the_permissions_it_had_before_the_split():
    roles_sync()

    assert {role: _group_permissions(role) for role in Role} == {
        role: set(codenames) for role, codenames in EXPECTED.items()
    }


def test_the_registry_holds_every_apps_share():
    assert role_permissions() == {role: set(codenames) for role, codenames in EXPECTED.items()}


@pytest.mark.django_db
def test_registering_the_same_permissions_again_changes_nothing():
    before = role_permissions()

    register_role_permissions(Role.PANEL_CHAIR, ["panels.add_paneldecision"])
    register_role_permissions("panel_chair", ["panels.add_paneldecision"])
    roles_sync()
    roles_sync()

    assert role_permissions() == before
    assert _group_permissions(Role.PANEL_CHAIR) == set(EXPECTED[Role.PANEL_CHAIR])


@pytest.mark.django_db
def test_migrate_gives_the_panel_chair_the_plan_decision():
    # The test database is made by migrate: its post_migrate roles_sync() applied every app's
    # share, including the permission allocations defines and panels grants.
    chair = Group.objects.get(name=Role.PANEL_CHAIR.label)
    assert chair.permissions.filter(
        content_type__app_label="allocations", codename="decide_plan_by_panel"
    ).exists()
