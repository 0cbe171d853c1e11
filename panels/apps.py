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

        # The panel decision letter, with whom a batch of it is for.
        from panels.letters import register as register_letters

        register_letters()
