"""Panels' permission names, and panels' share of each role.

`PanelsConfig.ready()` registers ROLE_PERMISSIONS with assessments' role registry
(`assessments.roles.register_role_permissions`); `roles_sync()` applies it after migrate.
"""

from __future__ import annotations

from allocations.permissions import (
    BUDGET_DECIDE,
    BUDGET_RECALCULATE,
    PLAN_CHANGE,
    PLAN_DECIDE_BY_PANEL,
    POLICY_REPRICE,
)
from assessments.roles import Role

# Seeing referrals is the gate for every panel page (panels/selectors.py).
PANEL_VIEW = "panels.view_panelreferral"
MEETING_VIEW = "panels.view_panelmeeting"
DECISION_VIEW = "panels.view_paneldecision"
MEETING_ADD = "panels.add_panelmeeting"
DECIDE = "panels.add_paneldecision"

# A referral is made when a plan is submitted over a panel rule: the actor is the worker who
# submitted it, who changes their own team's plans.
REFERRAL_CREATE = PLAN_CHANGE
# A referral is withdrawn when its plan leaves the panel because the person's indicative budget
# changed or ended: the actor changed it, by submitting an assessment (a worker), recalculating
# or deciding a budget (managers) or re-pricing (a RAS administrator). Any one of these.
REFERRAL_WITHDRAW_ANY = (PLAN_CHANGE, BUDGET_RECALCULATE, BUDGET_DECIDE, POLICY_REPRICE)

_READ = [PANEL_VIEW, MEETING_VIEW, DECISION_VIEW]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    # Panel members and chairs read only the people referred to the panel: those on a meeting
    # they belong to and those waiting for a meeting (panels/selectors.py registers that rule
    # with people_visible_to). No PEOPLE_ALL_TEAMS: anyone else is 404, as for another team's
    # worker.
    Role.PANEL_MEMBER: _READ,
    # The chair arranges meetings, sets agendas and records the panel's decisions, which agree
    # or return the referred plan (allocations' PLAN_DECIDE_BY_PANEL).
    Role.PANEL_CHAIR: [*_READ, MEETING_ADD, DECIDE, PLAN_DECIDE_BY_PANEL],
    Role.SENIOR_MANAGER: _READ,
    Role.AUDITOR: _READ,
}
