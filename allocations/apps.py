from django.apps import AppConfig


class AllocationsConfig(AppConfig):
    """The RAS engine, policies, indicative budgets, re-pricing, support plans, agreed budgets
    and letters. Depends on `assessments`, never the other way round: it listens for submitted
    assessments."""

    name = "allocations"

    def ready(self) -> None:
        from allocations import checks, receivers  # noqa: F401 (connects checks and receivers)
        from allocations.views import person_budget_section
        from assessments.person_page import register_person_section

        register_person_section(person_budget_section)

        from allocations.demo import seed_allocations
        from assessments.demo import register_demo_step

        register_demo_step(seed_allocations)
