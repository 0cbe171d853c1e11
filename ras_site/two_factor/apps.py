from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "ras_site.two_factor"
    label = "two_factor"
    verbose_name = "Two-step sign-in"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from ras_site.two_factor.middleware import remember_two_factor
        from ras_site.two_factor.services import has_two_factor

        def note_two_factor(sender, request, user, **kwargs):
            # Whether this session owes a code, looked up once per sign-in (middleware.py).
            if request is not None and hasattr(request, "session"):
                remember_two_factor(request, has_two_factor(user))

        user_logged_in.connect(note_two_factor, dispatch_uid="two_factor.note_on_login", weak=False)
