from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AssessmentsConfig(AppConfig):
    """People, teams, users and roles; later questionnaires, assessments and eligibility."""

    name = "assessments"
    verbose_name = "People and assessments"

    def ready(self) -> None:
        from assessments.roles import roles_sync_after_migrate

        # Runs after every migrate (and after the test runner's flushes) so the role groups and
        # their permissions always match assessments/roles.py.
        post_migrate.connect(
            roles_sync_after_migrate, sender=self, dispatch_uid="assessments.roles_sync"
        )
