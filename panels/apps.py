from django.apps import AppConfig


class PanelsConfig(AppConfig):
    """The risk enablement panel. Depends on allocations (never the other way round): it
    listens for plans referred to the panel."""

    name = "panels"

    def ready(self) -> None:
        from assessments.roles import register_role_permissions
        from panels.permissions import ROLE_PERMISSIONS

        # Panels' share of each role; roles_sync() applies it after migrate.
        for role, codenames in ROLE_PERMISSIONS.items():
            register_role_permissions(role, codenames)

        from assessments.demo import register_demo_step
        from panels import receivers  # noqa: F401
        from panels.demo import (
            seed_changes,
            seed_history,
            seed_letters,
            seed_plans,
            seed_record_openings,
        )

        register_demo_step(seed_plans)
        register_demo_step(seed_changes)
        # A plan managed three ways with a contribution (issue 13), before the letters.
        from allocations.demo import seed_mixed_plan

        register_demo_step(seed_mixed_plan)
        register_demo_step(seed_letters)
        register_demo_step(seed_history)
        # Openings of records for the auditor's access log (each role's home, issue 13).
        register_demo_step(seed_record_openings)
        # Last: the reports' targets and a members' pack that counts all of the above.
        from allocations.demo import seed_reports, seed_reviews

        register_demo_step(seed_reports)
        # Reviews come due on agreed budgets the history made.
        register_demo_step(seed_reviews)

        # The panel decision letter, with whom a batch of it is for.
        from panels.letters import register as register_letters

        register_letters()

        # Panel members and chairs see the people referred to their panel (and no one else).
        from assessments.selectors.people import register_visibility
        from panels.selectors import panel_people_visible

        register_visibility(panel_people_visible)

        # The panel's report section (issue 12), on allocations' dashboard and in its pack.
        from allocations.reports.tables import register_report_section
        from panels.reports import SECTION

        register_report_section(SECTION)
