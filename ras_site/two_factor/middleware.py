"""The gate between the password and the rest of the service.

After the password, a session is signed in as far as Django is concerned, but it does not count
until it has given a code: a person with two-step sign-in on is sent to the code page, and (when
TWO_FACTOR_REQUIRED is on) a person without it is sent to set it up. Until then the session
reaches only the views marked `@two_factor_step(...)` for its state (the code page, the setup
pages, logging out) — no other page, public or not, the admin included.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

from ras_site.two_factor.services import has_two_factor

# Whether the signed-in user had two-step sign-in on when the session signed in, kept in the
# session so that the many people without it cost no query per page. Set at every sign-in
# (apps.py) and by the two-step pages whenever it changes.
HAS_TWO_FACTOR = "two_factor_on"


OWES_CODE = "code"
OWES_SETUP = "setup"


def two_factor_step(*states: str):
    """Mark a view as reachable by a signed-in session that owes a code (OWES_CODE) and/or one
    that owes the setup (OWES_SETUP)."""

    def mark(view):
        view.two_factor_steps = frozenset(states)
        return view

    return mark


def session_has_two_factor(request) -> bool:
    if HAS_TWO_FACTOR not in request.session:
        request.session[HAS_TWO_FACTOR] = has_two_factor(request.user)
    return request.session[HAS_TWO_FACTOR]


def remember_two_factor(request, on: bool) -> None:
    request.session[HAS_TWO_FACTOR] = on


def owes_code(request) -> bool:
    """A signed-in session that must give a code before it counts."""
    user = request.user
    return user.is_authenticated and not user.is_verified() and session_has_two_factor(request)


def owes_setup(request) -> bool:
    """A signed-in session without two-step sign-in while it is required."""
    user = request.user
    return (
        settings.TWO_FACTOR_REQUIRED
        and user.is_authenticated
        and not user.is_verified()
        and not session_has_two_factor(request)
    )


class TwoFactorGate:
    """Sends a session that owes a code to the code page, and one that owes the setup to the
    setup page, keeping where it was going. Goes after LoginRequiredMiddleware and
    django-otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        steps = getattr(view_func, "two_factor_steps", frozenset())
        if owes_code(request) and OWES_CODE not in steps:
            return redirect_to_login(request.get_full_path(), reverse("two_factor:verify"))
        if owes_setup(request) and OWES_SETUP not in steps:
            return redirect_to_login(request.get_full_path(), reverse("two_factor:manage"))
        return None
