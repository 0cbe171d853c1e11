"""Allocations' permission names, and allocations' share of each role.

`AllocationsConfig.ready()` registers ROLE_PERMISSIONS with assessments' role registry
(`assessments.roles.register_role_permissions`); `roles_sync()` applies it after migrate.
"""

from __future__ import annotations

from assessments.roles import Role

POLICY_VIEW = "allocations.view_raspolicy"
POLICY_ADD = "allocations.add_raspolicy"
POLICY_CHANGE = "allocations.change_raspolicy"
# Four eyes: approved by someone other than the people who drafted or edited it.
POLICY_APPROVE = "allocations.approve_raspolicy"
POLICY_REPRICE = "allocations.reprice_raspolicy"
BUDGET_VIEW = "allocations.view_indicativebudget"
BUDGET_RECALCULATE = "allocations.recalculate_indicativebudget"
BUDGET_DECIDE = "allocations.decide_indicativebudget"
AGREED_BUDGET_VIEW = "allocations.view_agreedbudget"
PLAN_VIEW = "allocations.view_supportplan"
PLAN_ADD = "allocations.add_supportplan"
PLAN_CHANGE = "allocations.change_supportplan"
PLAN_AUTHORISE = "allocations.authorise_supportplan"
# Agreeing or returning a plan referred to the risk enablement panel (plan_agree_by_panel,
# plan_return_by_panel). Allocations grants it to no role: panels registers it for the panel
# chair (panels/permissions.py), so allocations never names panels' own permissions.
PLAN_DECIDE_BY_PANEL = "allocations.decide_plan_by_panel"
LETTER_VIEW = "allocations.view_letter"
LETTER_ISSUE = "allocations.add_letter"
LETTER_WITHDRAW = "allocations.withdraw_letter"
BATCH_VIEW = "allocations.view_letterbatch"
BATCH_RUN = "allocations.run_letterbatch"
# Calibration (issue 11): loading samples, fitting them and adopting a fitted price as a draft
# policy (which a second person approves, as any draft); reading the samples and runs.
CALIBRATION_RUN = "allocations.run_calibration"
CALIBRATION_VIEW = "allocations.view_calibration"
# Reports (issue 12): the dashboard and its exports (a team manager's own team; the roles with
# PEOPLE_ALL_TEAMS every team); the targets they are measured against (RAS administrators);
# the members' PDF pack, issued by senior managers and RAS administrators and read by auditors.
REPORTS_VIEW = "allocations.view_reports"
REPORT_SETTINGS_CHANGE = "allocations.change_reportsettings"
REPORT_PACK_VIEW = "allocations.view_reportpack"
REPORT_PACK_ISSUE = "allocations.add_reportpack"
# Reviews (issue 13, Care Act s.27): a worker or team manager of the person's team starts a
# review (and its reassessment) and records its outcome; everyone who reads agreed budgets
# reads their reviews.
REVIEW_VIEW = "allocations.view_review"
REVIEW_START = "allocations.add_review"
REVIEW_DECIDE = "allocations.decide_review"

_READ = [POLICY_VIEW, BUDGET_VIEW, PLAN_VIEW, AGREED_BUDGET_VIEW, LETTER_VIEW, REVIEW_VIEW]
_TEAM_CASEWORK = [*_READ, PLAN_ADD, PLAN_CHANGE, LETTER_ISSUE, REVIEW_START, REVIEW_DECIDE]
# Letters in batches, for their own team (or the whole service); withdrawing a letter sent in
# error.
_LETTER_RUNS = [BATCH_RUN, BATCH_VIEW, LETTER_WITHDRAW]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.SOCIAL_WORKER: _TEAM_CASEWORK,
    # Team managers also recalculate budgets and decide on lower figures for their team.
    Role.TEAM_MANAGER: [
        *_TEAM_CASEWORK,
        REPORTS_VIEW,
        BUDGET_RECALCULATE,
        BUDGET_DECIDE,
        PLAN_AUTHORISE,
        *_LETTER_RUNS,
    ],
    Role.PANEL_MEMBER: _READ,
    Role.PANEL_CHAIR: _READ,
    # Drafts policy versions (approved by someone else), applies approved ones.
    Role.RAS_ADMINISTRATOR: [
        *_READ,
        POLICY_ADD,
        POLICY_CHANGE,
        POLICY_APPROVE,
        POLICY_REPRICE,
        BUDGET_RECALCULATE,
        CALIBRATION_RUN,
        CALIBRATION_VIEW,
        REPORTS_VIEW,
        REPORT_SETTINGS_CHANGE,
        REPORT_PACK_VIEW,
        REPORT_PACK_ISSUE,
    ],
    # Senior managers approve policy versions (four eyes) and decide on lower figures; they
    # calibrate too, and may adopt a fitted price as a draft (someone else approves it).
    Role.SENIOR_MANAGER: [
        *_READ,
        POLICY_APPROVE,
        BUDGET_DECIDE,
        LETTER_ISSUE,
        *_LETTER_RUNS,
        CALIBRATION_RUN,
        CALIBRATION_VIEW,
        REPORTS_VIEW,
        REPORT_PACK_VIEW,
        REPORT_PACK_ISSUE,
    ],
    # Auditors read calibration's samples and runs, the reports and the packs; they change
    # nothing.
    Role.AUDITOR: [*_READ, CALIBRATION_VIEW, REPORTS_VIEW, REPORT_PACK_VIEW],
}
