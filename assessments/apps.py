from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AssessmentsConfig(AppConfig):
    """People, teams, users and roles; questionnaires, assessments and eligibility."""

    name = "assessments"
    verbose_name = "People and assessments"

    def ready(self) -> None:
        from assessments.roles import roles_sync_after_migrate

        # Runs after every migrate (and after the test runner's flushes) so the role groups and
        # their permissions always match assessments/roles.py.
        post_migrate.connect(
            roles_sync_after_migrate, sender=self, dispatch_uid="assessments.roles_sync"
        )

        from django.db.models.signals import m2m_changed

        from assessments.models import AnswerOption

        m2m_changed.connect(
            _triggers_changed,
            sender=AnswerOption.triggers.through,
            dispatch_uid="assessments.option_triggers_immutable",
        )

        from django.contrib.auth.signals import user_logged_in

        from ras_site.middleware import login_is_activity

        # Signing in starts the idle clock (ras_site.middleware.IdleSessionTimeout) in the
        # session the login saves anyway, so the first page after it writes nothing.
        user_logged_in.connect(login_is_activity, dispatch_uid="assessments.login_is_activity")


def _triggers_changed(sender, instance, action, **kwargs):
    """An option's funding triggers are part of a published version too: refuse changes."""
    if action in ("pre_add", "pre_remove", "pre_clear"):
        instance._version().assert_editable()
