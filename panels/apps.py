from django.apps import AppConfig


class PanelsConfig(AppConfig):
    """The risk enablement panel. Depends on allocations (never the other way round): it
    listens for plans referred to the panel."""

    name = "panels"

    def ready(self) -> None:
        from assessments.demo import register_demo_step
        from panels import receivers  # noqa: F401
        from panels.demo import seed_letters, seed_plans

        register_demo_step(seed_plans)
        register_demo_step(seed_letters)

        from allocations.letters import register_letter_kind
        from allocations.models import Letter
        from panels.letters import panel_decision_letter

        register_letter_kind(Letter.Kind.PANEL_DECISION, panel_decision_letter)
