from django.apps import AppConfig


class AllocationsConfig(AppConfig):
    """The RAS engine, policies, budgets, support plans, letters, calibration and reports.

    Empty until the RAS engine issue; depends on `assessments`, never the other way round.
    """

    name = "allocations"
