from django.apps import AppConfig


class AllocationsConfig(AppConfig):
    """The RAS engine, policies, indicative budgets, re-pricing, support plans, agreed budgets
    and letters. Depends on `assessments`, never the other way round: it listens for submitted
    assessments."""

    name = "allocations"

    def ready(self) -> None:
        from allocations import checks, receivers  # noqa: F401 (connects checks and receivers)
        from allocations.permissions import ROLE_PERMISSIONS
        from assessments.roles import register_role_permissions

        # Allocations' share of each role; roles_sync() applies it after migrate.
        for role, codenames in ROLE_PERMISSIONS.items():
            register_role_permissions(role, codenames)

        from allocations.views.person_page import person_budget_section, person_review_section
        from assessments.person_page import register_person_section

        register_person_section(person_budget_section)
        register_person_section(person_review_section)

        from allocations.views.assessment_record import assessment_pdf_action
        from assessments.assessment_page import register_assessment_action

        register_assessment_action(assessment_pdf_action)

        from allocations.views.questionnaire_page import questionnaire_impact_section
        from assessments.questionnaire_page import register_questionnaire_section

        register_questionnaire_section(questionnaire_impact_section)

        from allocations.reports.sections import register_sections

        register_sections()

        from allocations.demo import seed_allocations, seed_calibration
        from assessments.demo import register_demo_step

        register_demo_step(seed_allocations)
        register_demo_step(seed_calibration)
