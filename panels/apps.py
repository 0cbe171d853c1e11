from django.apps import AppConfig


class PanelsConfig(AppConfig):
    """The risk enablement panel. Empty until the panel issue; depends on `allocations`."""

    name = "panels"
